package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	sdklog "go.temporal.io/sdk/log"
)

// target is the Temporal a command talks to. It dials on first use, so a
// mistyped flag is reported even when Temporal is not running.
type target struct {
	// taskQueue is where `open` starts deals: workflows.TaskQueue, or a
	// test worker's own queue.
	taskQueue string
	c         client.Client
	dial      func(context.Context) (client.Client, error)
}

func (t *target) client(ctx context.Context) (client.Client, error) {
	if t.c == nil {
		if t.dial == nil {
			return nil, errors.New("no Temporal connection")
		}
		c, err := t.dial(ctx)
		if err != nil {
			return nil, err
		}
		t.c = c
	}
	return t.c, nil
}

// close closes a connection the target dialed itself.
func (t *target) close() {
	if t.c != nil && t.dial != nil {
		t.c.Close()
	}
}

// dialTimeout bounds the wait for an unreachable Temporal.
const dialTimeout = 5 * time.Second

// dialTemporal connects the way the worker does: the SDK's envconfig
// (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS and API key variables, or a
// temporal.toml profile).
func dialTemporal(ctx context.Context) (client.Client, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return nil, fmt.Errorf("temporal client configuration: %w", err)
	}
	return dialWith(ctx, opts)
}

func dialWith(ctx context.Context, opts client.Options) (client.Client, error) {
	// The SDK's own log lines would interleave with the command's answer;
	// only its errors are worth showing.
	opts.Logger = sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := client.DialContext(dctx, opts)
	if err != nil {
		addr, ns := opts.HostPort, opts.Namespace
		if addr == "" {
			addr = client.DefaultHostPort
		}
		if ns == "" {
			ns = client.DefaultNamespace
		}
		return nil, fmt.Errorf("cannot reach Temporal at %s, namespace %q (%v); start it with `make dev`, or set TEMPORAL_ADDRESS", addr, ns, rootCause(err))
	}
	return c, nil
}

// rootCause keeps messages short: the innermost error says the most.
func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// answerTimeout bounds the wait for a deal's answer: a signal or a query is
// answered by the worker, and without one it would wait forever.
const answerTimeout = 30 * time.Second

// noAnswer turns a timeout into advice when the worker is the likely cause.
// A signal that timed out stays with Temporal and is applied once a worker
// runs, so the advice for a signal is to look before sending it again.
func noAnswer(ctx context.Context, dealID string, err error, signal bool) error {
	if ctx.Err() == nil {
		return err
	}
	msg := fmt.Sprintf("deal %s did not answer within %s: is the dealflow worker running (`make dev`)?", dealID, answerTimeout)
	if signal {
		msg += fmt.Sprintf(" The signal may still be applied once one runs: check `starter record --deal %s` before sending it again", dealID)
	}
	return errors.New(msg)
}
