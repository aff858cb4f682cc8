package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// probeTimeout bounds each request of plimsoll probe.
const probeTimeout = 10 * time.Second

// newProbeCommand builds plimsoll probe, which the chart's `helm test` pod
// runs: the image is distroless, with no shell, curl or wget, and an image
// of those would be a second image to trust, pull and allow. It is hidden:
// it is for that pod, not for people, who have curl.
func newProbeCommand(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:    "probe URL...",
		Short:  "GET each URL and fail unless every answer is 2xx (the chart's helm test)",
		Hidden: true,
		Args:   cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, urls []string) error {
			return runProbe(cmd.Context(), s, urls)
		},
	}
}

func runProbe(ctx context.Context, s Streams, urls []string) error {
	client := &http.Client{Timeout: probeTimeout}
	var failed []error
	for _, u := range urls {
		status, err := probe(ctx, client, u)
		if err != nil {
			failed = append(failed, err)
			continue
		}
		fmt.Fprintf(s.Out, "%s: %s\n", u, status)
	}
	if len(failed) > 0 {
		return &exitError{ExitPartial, errors.Join(failed...)}
	}
	return nil
}

// probe GETs url and returns its status, or an error unless it is 2xx.
func probe(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err // names the URL
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return "", fmt.Errorf("%s: read the answer: %w", url, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", fmt.Errorf("%s: %s", url, resp.Status)
	}
	return resp.Status, nil
}
