package hubspot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"

	"dealflow/deal"
)

// Group is the property group of dealflow's properties.
const Group = "dealflow"

// PropertyDef is a custom deal property as the properties API takes it.
type PropertyDef struct {
	Name      string   `json:"name"`
	Label     string   `json:"label"`
	Type      string   `json:"type"`
	FieldType string   `json:"fieldType"`
	GroupName string   `json:"groupName"`
	Options   []Option `json:"options,omitempty"`
}

type Option struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

func options(values ...string) []Option {
	var out []Option
	for _, v := range values {
		out = append(out, Option{Label: v, Value: v})
	}
	return out
}

func prop(name, label, typ, field string, opts ...Option) PropertyDef {
	return PropertyDef{Name: name, Label: label, Type: typ, FieldType: field, GroupName: Group, Options: opts}
}

// Properties are the custom properties `starter hubspot setup` creates:
// the terms and people a deal opens with, and what the mirror writes.
var Properties = []PropertyDef{
	prop(propMargin, "dealflow target margin %", "number", "number"),
	prop(propStart, "dealflow start date", "date", "date"),
	prop(propEnd, "dealflow end date", "date", "date"),
	prop(propSignoff, "dealflow tickets the client signs off", "enumeration", "checkbox", options(deal.PresaleTickets...)...),
	prop(propChannel, "dealflow Slack channel", "string", "text"),
	prop(propPresales, "dealflow presales lead (email)", "string", "text"),
	prop(propPricing, "dealflow pricing approver (email)", "string", "text"),
	prop(propPM, "dealflow PM (email)", "string", "text"),
	prop(propGM, "dealflow GM (email)", "string", "text"),
	prop(propDFStage, "dealflow stage", "enumeration", "select", options(
		string(deal.Discovery), string(deal.Scoping), string(deal.Proposal), string(deal.Pricing), string(deal.Closing),
		string(deal.Handover), string(deal.InProgress), string(deal.Mitigation), string(deal.Maintenance),
		string(deal.ClosedWon), string(deal.ClosedLost))...),
	prop(propDFHealth, "dealflow health", "string", "text"),
	prop(propDFMargin, "dealflow forecast margin %", "number", "number"),
	prop(propDFCost, "dealflow actual cost", "number", "number"),
	prop(propDFCollected, "dealflow fees collected", "number", "number"),
	prop(propDFPending, "dealflow fees pending", "number", "number"),
	prop(propDFIncidents, "dealflow open incidents", "number", "number"),
	prop(propDFSignedBy, "dealflow handover signed by", "string", "text"),
	prop(propDFSignedAt, "dealflow handover signed at", "datetime", "date"),
	prop(propDFURL, "dealflow deal page", "string", "text"),
}

func notFound(err error) bool {
	var api *APIError
	return errors.As(err, &api) && api.Status == http.StatusNotFound
}

// Setup makes the dealflow property group and properties that are missing
// and checks the pipeline (pipelineID, "default" for HubSpot's first) has
// every mapped stage. It changes nothing that exists: run twice, the
// second run only reads. It says what it did and what is wrong on out, and
// fails when something needs a person (a property of another type, a
// stage missing).
func Setup(ctx context.Context, c *Client, stages Stages, pipelineID string, out io.Writer) error {
	var problems []string
	if err := c.do(ctx, http.MethodGet, "/crm/v3/properties/deals/groups/"+Group, nil, nil); notFound(err) {
		if err := c.do(ctx, http.MethodPost, "/crm/v3/properties/deals/groups", map[string]any{"name": Group, "label": "dealflow"}, nil); err != nil {
			return fmt.Errorf("creating the property group %s: %w", Group, err)
		}
		fmt.Fprintf(out, "created property group %s\n", Group)
	} else if err != nil {
		return err
	}
	for _, p := range Properties {
		var have PropertyDef
		err := c.do(ctx, http.MethodGet, "/crm/v3/properties/deals/"+url.PathEscape(p.Name), nil, &have)
		switch {
		case notFound(err):
			if err := c.do(ctx, http.MethodPost, "/crm/v3/properties/deals", p, nil); err != nil {
				return fmt.Errorf("creating property %s: %w", p.Name, err)
			}
			fmt.Fprintf(out, "created property %s (%s)\n", p.Name, p.Type)
		case err != nil:
			return err
		case have.Type != p.Type:
			problems = append(problems, fmt.Sprintf("property %s exists as %s, dealflow needs %s: rename or delete it in HubSpot", p.Name, have.Type, p.Type))
		default:
			for _, o := range p.Options {
				if !slices.ContainsFunc(have.Options, func(h Option) bool { return h.Value == o.Value }) {
					problems = append(problems, fmt.Sprintf("property %s lacks the option %s: add it in HubSpot", p.Name, o.Value))
				}
			}
		}
	}
	var pipes struct {
		Results []pipeline `json:"results"`
	}
	if err := c.do(ctx, http.MethodGet, "/crm/v3/pipelines/deals", nil, &pipes); err != nil {
		return fmt.Errorf("reading the deal pipelines: %w", err)
	}
	i := slices.IndexFunc(pipes.Results, func(p pipeline) bool { return p.ID == pipelineID })
	if i < 0 {
		problems = append(problems, fmt.Sprintf("no deal pipeline %q", pipelineID))
	} else {
		for _, k := range StageKeys {
			id := stages.ID(k)
			if id != "" && !slices.ContainsFunc(pipes.Results[i].Stages, func(s pipelineStage) bool { return s.ID == id }) {
				problems = append(problems, fmt.Sprintf("pipeline %s has no stage %s (HUBSPOT_STAGES maps %s to it)", pipelineID, id, k))
			}
		}
	}
	for _, p := range problems {
		fmt.Fprintln(out, "missing: "+p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d thing(s) to fix in HubSpot (listed above)", len(problems))
	}
	fmt.Fprintf(out, "HubSpot is set up: group %s, %d properties, pipeline %s has every mapped stage\n", Group, len(Properties), pipelineID)
	return nil
}

type pipeline struct {
	ID     string          `json:"id"`
	Stages []pipelineStage `json:"stages"`
}

type pipelineStage struct {
	ID string `json:"id"`
}
