package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"dealflow/activities/slackfake"
)

// front is the load balancer in front of the workers' HTTP servers, as the
// load generator sees it: requests go round-robin, and a request that gets
// no answer (a server killed, or restarting) goes to the next server until
// one answers or the deadline passes.
type front struct {
	bases []string
	next  atomic.Int64
	hc    *http.Client
}

func newFront(bases []string) *front {
	return &front{bases: bases, hc: &http.Client{Timeout: 2 * time.Minute}}
}

// do sends one request built by mk against a server and answers its status
// and body. A transport error or a 502/503 moves on to the next server.
func (f *front) do(ctx context.Context, mk func(base string) (*http.Request, error)) (int, []byte, error) {
	var last error
	for {
		base := f.bases[int(f.next.Add(1))%len(f.bases)]
		req, err := mk(base)
		if err != nil {
			return 0, nil, err
		}
		resp, err := f.hc.Do(req.WithContext(ctx))
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode != http.StatusBadGateway && resp.StatusCode != http.StatusServiceUnavailable {
				return resp.StatusCode, body, nil
			}
			last = fmt.Errorf("%s answered %d %s", base, resp.StatusCode, bytes.TrimSpace(body))
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return 0, nil, fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// interact posts a Slack interaction payload, signed as Slack signs it.
func (f *front) interact(ctx context.Context, payload []byte) error {
	body := slackfake.Body(payload)
	code, ans, err := f.do(ctx, func(base string) (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPost, base+"/slack/interactions", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		ts := time.Now().Unix()
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Slack-Signature", slackfake.Sign(signingSecret, ts, body))
		return req, nil
	})
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("interaction answered %d %s", code, ans)
	}
	return nil
}

// finance sends a request to finance intake with the bearer token.
func (f *front) finance(ctx context.Context, method, path, contentType string, body []byte) (int, []byte, error) {
	return f.do(ctx, func(base string) (*http.Request, error) {
		req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+financeToken)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		return req, nil
	})
}
