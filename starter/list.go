package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"dealflow/deal"
)

// dealRow is one line of `starter list`.
type dealRow struct {
	id, summary, stage, margin, state string
}

// runList lists deals through Temporal visibility, on the search
// attributes the workflow keeps up to date. Visibility lags the workflow by
// a moment, so a deal just moved may show its previous stage.
func runList(ctx context.Context, t *target, args []string, stdout io.Writer) error {
	fs := newFlagSet("list", "[--stage S] [--client C] [--ae U] [--pm U]")
	stage := fs.String("stage", "", "only deals at this stage")
	clientName := fs.String("client", "", "only this client's deals (exact name)")
	ae := fs.String("ae", "", "only deals of this AE (Slack user id)")
	pm := fs.String("pm", "", "only deals of this PM (Slack user id)")
	if help, err := parse(fs, args, stdout); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q (see `starter list -h`)", fs.Arg(0))}
	}
	if *stage != "" && !slices.Contains(deal.Stages, deal.Stage(*stage)) {
		return usageError{fmt.Sprintf("unknown stage %q; stages are %s", *stage, stageList())}
	}
	query := listQuery(map[string]string{"DealStage": *stage, "DealClient": *clientName, "DealAE": *ae, "DealPM": *pm})
	c, err := t.client(ctx)
	if err != nil {
		return err
	}
	rows, err := listDeals(ctx, c, query)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		fmt.Fprintln(stdout, "no deals match")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DEAL\tCLIENT / WORKSTREAM\tSTAGE\tMARGIN")
	for _, r := range rows {
		stage := r.stage
		if r.state != "" {
			stage += " (workflow " + r.state + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.id, r.summary, stage, r.margin)
	}
	return tw.Flush()
}

// listQuery is the visibility query for deals matching every non-empty
// filter. Runs that continued as new are left out: each deal shows once.
func listQuery(filters map[string]string) string {
	parts := []string{"WorkflowType = 'DealWorkflow'", "ExecutionStatus != 'ContinuedAsNew'"}
	keys := make([]string, 0, len(filters))
	for k := range filters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := filters[k]; v != "" {
			parts = append(parts, fmt.Sprintf("%s = %s", k, quote(v)))
		}
	}
	return strings.Join(parts, " AND ")
}

// quote makes a string literal of the visibility query language.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(s) + "'"
}

func listDeals(ctx context.Context, c client.Client, query string) ([]dealRow, error) {
	var rows []dealRow
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 200, NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("listing deals: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			sa := e.GetSearchAttributes()
			wid := e.GetExecution().GetWorkflowId()
			r := dealRow{id: strings.TrimPrefix(wid, "deal-"), stage: keyword(sa, "DealStage"), summary: keyword(sa, "DealClient")}
			r.margin = keyword(sa, "MarginStatus")
			if pct, ok := number(sa, "ForecastMarginPct"); ok {
				// ForecastMarginPct is a float search attribute, kept for
				// display only; the record holds the exact decimal.
				r.margin += fmt.Sprintf(" (forecast %.2f%%)", pct)
			}
			switch st := e.GetStatus(); st {
			case enums.WORKFLOW_EXECUTION_STATUS_RUNNING, enums.WORKFLOW_EXECUTION_STATUS_COMPLETED:
			default:
				r.state = strings.ToLower(st.String())
			}
			// The summary set at start says client / workstream (AE, PM).
			if d, err := c.DescribeWorkflow(ctx, wid, e.GetExecution().GetRunId()); err == nil {
				if s, err := d.GetStaticSummary(); err == nil && s != "" {
					r.summary = s
				}
			}
			rows = append(rows, r)
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].id < rows[j].id })
	return rows, nil
}

func keyword(sa *commonpb.SearchAttributes, name string) string {
	var s string
	if p := sa.GetIndexedFields()[name]; p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &s)
	}
	return s
}

func number(sa *commonpb.SearchAttributes, name string) (float64, bool) {
	var f float64
	p := sa.GetIndexedFields()[name]
	if p == nil {
		return 0, false
	}
	if err := converter.GetDefaultDataConverter().FromPayload(p, &f); err != nil {
		return 0, false
	}
	return f, true
}
