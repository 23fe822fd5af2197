package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"dealflow/workflows"
)

// checkNamespace refuses to start the worker on a namespace that does not
// exist, or that lacks a search attribute the deal workflow sets (or has
// it with another type). Without the check every workflow task of every
// deal would fail at its first upsert and be retried forever, while the
// worker looked healthy. The error names what is missing and the command
// that adds it.
func checkNamespace(ctx context.Context, c client.Client, ns, address string) error {
	_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	var nf *serviceerror.NamespaceNotFound
	var nf2 *serviceerror.NotFound
	switch {
	case errors.As(err, &nf) || errors.As(err, &nf2):
		return fmt.Errorf("Temporal at %s has no namespace %q; create it with `temporal operator namespace create --address %s --namespace %s` or set TEMPORAL_NAMESPACE",
			address, ns, address, ns)
	case err != nil:
		return fmt.Errorf("cannot read Temporal namespace %q at %s (%s)", ns, address, oneLine(err))
	}
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		return fmt.Errorf("cannot list the search attributes of Temporal namespace %q at %s (%s)", ns, address, oneLine(err))
	}
	have := map[string]enums.IndexedValueType{}
	for k, v := range resp.GetSystemAttributes() {
		have[k] = v
	}
	for k, v := range resp.GetCustomAttributes() {
		have[k] = v
	}
	var keys []temporal.SearchAttributeKey
	for key := range workflows.SearchAttributes.GetUntypedValues() {
		keys = append(keys, key)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].GetName() < keys[j].GetName() })
	var missing, wrong []string
	create := fmt.Sprintf("temporal operator search-attribute create --address %s --namespace %s", address, ns)
	for _, key := range keys {
		name, want := key.GetName(), key.GetValueType()
		got, ok := have[name]
		switch {
		case !ok:
			missing = append(missing, name+" ("+want.String()+")")
			create += " --name " + name + " --type " + want.String()
		case got != want:
			wrong = append(wrong, fmt.Sprintf("%s is %s, the worker sets it as %s", name, got, want))
		}
	}
	switch {
	case len(wrong) > 0:
		return fmt.Errorf("Temporal namespace %q has search attribute(s) of the wrong type: %s; remove each with `temporal operator search-attribute remove --namespace %s --name NAME` and start the worker again to be told how to create it",
			ns, strings.Join(wrong, "; "), ns)
	case len(missing) > 0:
		return fmt.Errorf("Temporal namespace %q lacks search attribute(s) %s that the deal workflow sets; add them with `%s`",
			ns, strings.Join(missing, ", "), create)
	}
	return nil
}
