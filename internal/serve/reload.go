package serve

import (
	"bytes"
	"context"
	"os"
	"time"
)

// configPoll is how often the configuration file is read again. The
// kubelet updates a mounted ConfigMap a minute or so after it changed, by
// swapping a symlink (..data) to a new directory, which an inotify watch
// on the file misses; reading the file and comparing its content sees every
// such swap, at the cost of one small read every configPoll.
const configPoll = 10 * time.Second

// ConfigFile is the configuration file serve was started with, read again
// every ten seconds so that an edited ConfigMap takes effect without a
// restart.
type ConfigFile struct {
	// Path is the file.
	Path string
	// Loaded is the content Options.Audit was made from.
	Loaded []byte
	// Load validates a new content of the file and makes the Auditor that
	// audits with it.
	Load func(content []byte) (Auditor, error)
}

// configWatch is what the loop knows of the configuration file: the
// content last read and the error last said.
type configWatch struct {
	file *ConfigFile
	seen []byte
	said string
}

// reloadConfig reads the configuration file again. When its content
// changed and loads, the Auditor made from it audits from now on and it
// returns true. When it changed and does not load, or cannot be read, the
// previous configuration stays in force, the error is logged once and
// plimsoll_config_reload_ok is 0 until a content that loads.
func (s *server) reloadConfig(ctx context.Context, w *configWatch) bool {
	data, err := os.ReadFile(w.file.Path)
	var a Auditor
	if err == nil {
		if bytes.Equal(data, w.seen) {
			return false
		}
		w.seen = data
		a, err = w.file.Load(data)
	} else {
		w.seen = nil // read again in full once it can be read
	}
	if err != nil {
		if err.Error() != w.said {
			s.o.Log.ErrorContext(ctx, "configuration not reloaded; auditing with the previous one until the file is fixed", "file", w.file.Path, "error", err)
		}
		w.said = err.Error()
		s.metrics.configOK.Set(0)
		return false
	}
	s.auditor.Store(&a)
	w.said = ""
	s.metrics.configLoaded(s.o.Clock.Now())
	s.o.Log.InfoContext(ctx, "configuration reloaded", "file", w.file.Path)
	return true
}
