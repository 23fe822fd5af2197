//go:build !dev

package main

import (
	"context"
	"errors"
	"io"

	"go.temporal.io/sdk/client"

	"dealflow/server"
)

// The production worker has no dev mode: it runs against a Temporal and a
// PostgreSQL that exist.
var errNoDevMode = errors.New("this worker is built without the dev mode; run `make dev` (go run -tags dev ./worker -dev)")

func startDevStack(context.Context, *server.Config, string) (func(), error) { return nil, errNoDevMode }

func runDemo(context.Context, client.Client, io.Writer) error { return errNoDevMode }
