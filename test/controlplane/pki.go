package controlplane

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// pki is what the control plane's components are started with: a CA that
// signed the API server's serving certificate, the service-account signing
// key, and one bearer token per user.
type pki struct {
	caCert, caKey           string // files
	servingCert, servingKey string // files
	saKey                   string // file
	caPEM                   []byte
	tokenFile               string
	tokens                  map[string]string // user name to bearer token
}

// writePKI generates keys, certificates and tokens into dir. ECDSA keys
// keep this fast; the API server signs service-account tokens with ES256.
func writePKI(dir string, users []User) (*pki, error) {
	p := &pki{
		caCert:      filepath.Join(dir, "ca.crt"),
		caKey:       filepath.Join(dir, "ca.key"),
		servingCert: filepath.Join(dir, "apiserver.crt"),
		servingKey:  filepath.Join(dir, "apiserver.key"),
		saKey:       filepath.Join(dir, "sa.key"),
		tokenFile:   filepath.Join(dir, "tokens.csv"),
		tokens:      map[string]string{},
	}
	caKey, err := writeKey(p.caKey)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "plimsoll-test-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if p.caPEM, err = writeCert(p.caCert, ca, ca, caKey, caKey); err != nil {
		return nil, err
	}
	servingKey, err := writeKey(p.servingKey)
	if err != nil {
		return nil, err
	}
	serving := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.ParseIP("10.0.0.1")},
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
	}
	if _, err := writeCert(p.servingCert, serving, ca, servingKey, caKey); err != nil {
		return nil, err
	}
	if _, err := writeKey(p.saKey); err != nil {
		return nil, err
	}
	return p, p.writeTokens(users)
}

// writeTokens writes the API server's --token-auth-file: one line per user,
// "token,user,uid,\"group1,group2\"". The admin is in system:masters.
func (p *pki) writeTokens(users []User) error {
	var b strings.Builder
	for _, u := range append([]User{{Name: AdminUser, Groups: []string{"system:masters"}}}, users...) {
		if _, dup := p.tokens[u.Name]; dup || u.Name == "" {
			return fmt.Errorf("user name %q is empty or given twice", u.Name)
		}
		token := make([]byte, 16)
		if _, err := rand.Read(token); err != nil {
			return err
		}
		p.tokens[u.Name] = hex.EncodeToString(token)
		fmt.Fprintf(&b, "%s,%s,%s,%q\n", p.tokens[u.Name], u.Name, u.Name, strings.Join(u.Groups, ","))
	}
	return os.WriteFile(p.tokenFile, []byte(b.String()), 0o600)
}

func writeKey(path string) (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return key, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}

func writeCert(path string, cert, parent *x509.Certificate, key, parentKey *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.CreateCertificate(rand.Reader, cert, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, err
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return data, os.WriteFile(path, data, 0o644)
}
