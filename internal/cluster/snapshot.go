package cluster

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/plimsoll/plimsoll/internal/atomicfile"
)

// Snapshot format identity.
const (
	SnapshotAPIVersion = "plimsoll.dev/v1alpha1"
	SnapshotKind       = "Snapshot"
)

// Header is everything in a snapshot but its objects: where and when it was
// taken, and which types were read in full or not at all, so an offline
// audit reports the same coverage as the live one.
type Header struct {
	APIVersion    string    `json:"apiVersion"`
	Kind          string    `json:"kind"`
	Created       time.Time `json:"created"`
	Context       string    `json:"context,omitempty"`
	Server        string    `json:"server"`
	ServerVersion string    `json:"serverVersion"`
	// Namespace is the namespace the read was limited to, if any.
	Namespace string   `json:"namespace,omitempty"`
	Types     []Type   `json:"types"`
	Unread    []Unread `json:"unread,omitempty"`
	// Requested are the kind keys the read asked for. A kind it did not
	// ask for may well be served: a later plimsoll that needs it must not
	// take its absence for "none". Absent from snapshots taken before it
	// was recorded.
	Requested []string `json:"requested,omitempty"`
}

// WriteSnapshot writes the header and objects as JSON to path, gzipped when
// the path ends in .gz. It writes to a temporary file first, so a failed
// write never leaves a snapshot that looks complete.
func WriteSnapshot(path string, h Header, items []map[string]any) error {
	h.APIVersion, h.Kind = SnapshotAPIVersion, SnapshotKind
	return atomicfile.Write(path, func(w io.Writer) error {
		var gz *gzip.Writer
		if strings.HasSuffix(path, ".gz") {
			gz = gzip.NewWriter(w)
			w = gz
		}
		bw := bufio.NewWriterSize(w, 1<<16)
		if err := encodeSnapshot(bw, h, items); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if gz != nil {
			return gz.Close()
		}
		return nil
	})
}

// encodeSnapshot writes the header's fields, then the objects one per line
// under "items", last, so a reader can stream them.
func encodeSnapshot(w io.Writer, h Header, items []map[string]any) error {
	head, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if _, err := w.Write(head[:len(head)-1]); err != nil {
		return err
	}
	if _, err := io.WriteString(w, `,"items":[`); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	for i, item := range items {
		sep := "\n"
		if i > 0 {
			sep = ",\n"
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		if err := enc.Encode(item); err != nil {
			return err
		}
	}
	_, err = io.WriteString(w, "]}\n")
	return err
}

// ReadSnapshot reads a snapshot written by WriteSnapshot, gzipped or not,
// and calls each for every object in order.
func ReadSnapshot(path string, each func(map[string]any) error) (*Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	h, err := decodeSnapshot(json.NewDecoder(r), each)
	if err != nil {
		return nil, fmt.Errorf("%s: not a plimsoll snapshot: %w", path, err)
	}
	return h, nil
}

func decodeSnapshot(dec *json.Decoder, each func(map[string]any) error) (*Header, error) {
	if err := expect(dec, json.Delim('{')); err != nil {
		return nil, err
	}
	fields := map[string]json.RawMessage{}
	sawItems := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		if key != "items" {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
			fields[key] = v
			continue
		}
		sawItems = true
		if err := expect(dec, json.Delim('[')); err != nil {
			return nil, err
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, err
			}
			// Numbers are read as the API client reads them: integers
			// as int64, not float64.
			var item map[string]any
			if err := utiljson.Unmarshal(raw, &item); err != nil {
				return nil, err
			}
			if err := each(item); err != nil {
				return nil, err
			}
		}
		if err := expect(dec, json.Delim(']')); err != nil {
			return nil, err
		}
	}
	if err := expect(dec, json.Delim('}')); err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(fields)
	var h Header
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, err
	}
	switch {
	case h.APIVersion != SnapshotAPIVersion || h.Kind != SnapshotKind:
		return nil, fmt.Errorf("apiVersion %q, kind %q: want %s %s", h.APIVersion, h.Kind, SnapshotAPIVersion, SnapshotKind)
	case !sawItems:
		return nil, errors.New("no items: the snapshot is cut short")
	}
	return &h, nil
}

func expect(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("got %v, want %v", tok, want)
	}
	return nil
}
