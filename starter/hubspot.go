package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"dealflow/hubspot"
)

// runHubSpot is `starter hubspot setup`: the dealflow property group and
// properties in HubSpot, made idempotently, and a check that the deal
// pipeline has every stage HUBSPOT_STAGES maps (docs/hubspot.md).
func runHubSpot(ctx context.Context, _ *target, args []string, stdout io.Writer) error {
	fs := newFlagSet("hubspot setup", "[--pipeline ID]   (HUBSPOT_TOKEN, HUBSPOT_STAGES; HUBSPOT_API_URL for another API)")
	pipeline := fs.String("pipeline", "default", "the deal pipeline `ID` whose stages HUBSPOT_STAGES maps")
	if len(args) == 0 || args[0] != "setup" {
		return usageError{"the hubspot command is `starter hubspot setup`"}
	}
	if help, err := parse(fs, args[1:], stdout); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q (see `starter hubspot setup -h`)", fs.Arg(0))}
	}
	cfg := hubspot.Config{Token: os.Getenv("HUBSPOT_TOKEN"), APIURL: os.Getenv("HUBSPOT_API_URL"), ClientSecret: "not needed to set up"}
	if cfg.Token == "" {
		return usageError{"HUBSPOT_TOKEN is not set: the private app's access token (docs/hubspot.md lists its scopes)"}
	}
	var err error
	if cfg.Stages, err = hubspot.ParseStages(os.Getenv("HUBSPOT_STAGES")); err != nil {
		return usageError{err.Error()}
	}
	if err := cfg.Check(); err != nil {
		return usageError{err.Error()}
	}
	return hubspot.Setup(ctx, hubspot.NewClient(cfg), cfg.Stages, *pipeline, stdout)
}
