package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"dealflow/hubspot/hubspottest"
)

// TestHubSpotSetupTwice: the first run makes the properties, the second
// changes nothing; a pipeline without a mapped stage fails, naming it.
func TestHubSpotSetupTwice(t *testing.T) {
	fake := hubspottest.New("pat-starter", "appt", "closedwon", "closedlost")
	t.Cleanup(fake.Close)
	t.Setenv("HUBSPOT_TOKEN", "pat-starter")
	t.Setenv("HUBSPOT_API_URL", fake.URL)
	t.Setenv("HUBSPOT_STAGES", "discovery=appt,won=closedwon,lost=closedlost")
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"hubspot", "setup"}, &out, &errs); code != 0 || !strings.Contains(out.String(), "created property dealflow_stage") {
		t.Fatalf("first run: %d %s %s", code, out.String(), errs.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"hubspot", "setup"}, &out, &errs); code != 0 || strings.Contains(out.String(), "created") {
		t.Fatalf("second run: %d %s %s", code, out.String(), errs.String())
	}
	t.Setenv("HUBSPOT_STAGES", "discovery=appt,pricing=price,won=closedwon,lost=closedlost")
	out.Reset()
	errs.Reset()
	if code := run(context.Background(), []string{"hubspot", "setup"}, &out, &errs); code != 1 || !strings.Contains(out.String(), "has no stage price") {
		t.Fatalf("missing stage: %d %s %s", code, out.String(), errs.String())
	}
	t.Setenv("HUBSPOT_TOKEN", "")
	if code := run(context.Background(), []string{"hubspot", "setup"}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "HUBSPOT_TOKEN is not set") {
		t.Fatalf("no token: %d %s", code, errs.String())
	}
}
