package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// Ask the AE: a question unanswered for two business days is escalated to
// the GM. The deadline is in the deal's state (deal.QuestionState.DueAt,
// computed from the deal's own calendar when the question was asked), so
// the main loop only has to wake for it; the rules decide the rest.

// escalationWake is the main loop's wake moved earlier to the next
// question's deadline, when one comes first.
func (w *dealWorkflow) escalationWake(wake time.Time) time.Time {
	due := w.s.NextEscalation()
	if due.IsZero() || (!wake.IsZero() && wake.Before(due)) {
		return wake
	}
	return due
}

// escalate tells the GM of every question past its deadline.
func (w *dealWorkflow) escalate(ctx workflow.Context) {
	w.absorb(w.s.Escalate(workflow.Now(ctx)))
}
