package controlplane

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// CompactEtcd writes a marker key to etcd, so that the revision moves past
// every resourceVersion handed out so far, and compacts etcd to that
// revision. Continue tokens of paginated lists begun before then are
// refused from the next page on with 410 Gone ("The provided continue
// parameter is too old"), as happens on a real cluster when a list spans
// the API server's periodic compaction. This works at once because Start
// turns off ListFromCacheSnapshot, which would otherwise serve those pages
// from the API server's watch cache for up to 15 more seconds.
//
// It uses etcd's JSON gateway, which keeps etcd's Go client out of the
// module.
func (c *ControlPlane) CompactEtcd(ctx context.Context) error {
	var put struct {
		Header struct {
			Revision string `json:"revision"`
		} `json:"header"`
	}
	marker := base64.StdEncoding.EncodeToString([]byte("/plimsoll-testenv/compaction-marker"))
	if err := c.etcdCall(ctx, "/v3/kv/put", map[string]any{"key": marker, "value": marker}, &put); err != nil {
		return err
	}
	rev, err := strconv.ParseInt(put.Header.Revision, 10, 64)
	if err != nil {
		return fmt.Errorf("etcd put: revision %q: %w", put.Header.Revision, err)
	}
	return c.etcdCall(ctx, "/v3/kv/compaction", map[string]any{"revision": rev, "physical": true}, nil)
}

// etcdCall posts request as JSON to etcd's gateway at path and decodes the
// answer into response unless it is nil.
func (c *ControlPlane) etcdCall(ctx context.Context, path string, request, response any) error {
	body, err := json.Marshal(request)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.EtcdURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("etcd %s: %s: %s", path, resp.Status, data)
	}
	if response == nil {
		return nil
	}
	return json.Unmarshal(data, response)
}
