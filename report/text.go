package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/shopspring/decimal"

	"dealflow/deal"
)

// WriteText prints the report for a terminal: the flags first, then one
// table per AE and per PM, then what each figure means.
func WriteText(w io.Writer, r Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Handover early-warning report, %s\n", r.GeneratedAt.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Deals won in the last %d days (since %s): %d\n\n", r.Days, r.Since.UTC().Format("2006-01-02"), len(r.Deals))
	if len(r.Flags) == 0 {
		fmt.Fprintf(&b, "No AE flagged: no one's last %d deals past handover all drifted the same way.\n\n", PatternDeals)
	}
	for _, f := range r.Flags {
		fmt.Fprintf(&b, "FLAGGED %s: the last %d deals all came in under target, %s taking the most cost:\n", r.Names.Show(f.AE), len(f.Deals), f.Category)
		for _, d := range f.Deals {
			fmt.Fprintf(&b, "  %s  %s / %s  closed %s  forecast %s%% against target %s%% (%s pts under)\n", d.DealID, d.Client, d.Workstream,
				d.ClosedAt.UTC().Format("2006-01-02"), fixed(d.ForecastMarginPct, 2), fixed(d.TargetMarginPct, 2), fixed(d.PtsBelowTarget, 2))
		}
		b.WriteString("\n")
	}
	writeTable(&b, "By AE", "AE", r.ByAE, r.Names, true)
	writeTable(&b, "By PM", "PM", r.ByPM, r.Names, false)
	writeSigns(&b, r)
	b.WriteString("What the figures mean\n")
	for _, d := range Definitions {
		fmt.Fprintf(&b, "  %s: %s\n", d.Name, d.Text)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeTable(b *strings.Builder, title, who string, people []Person, names deal.Names, flags bool) {
	fmt.Fprintf(b, "%s\n", title)
	if len(people) == 0 {
		b.WriteString("  (no deals)\n\n")
		return
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	head := "  " + who + "\tdeals\tscope ambiguities\tcommitments outside deliverables\tchange orders after handover\tavg pts below target\tavg days to sign-off\topen handovers\tclient sign-offs by client / on behalf"
	if flags {
		head += "\tflag"
	}
	fmt.Fprintln(tw, head)
	for _, p := range people {
		line := fmt.Sprintf("  %s\t%d\t%d\t%d\t%d\t%s\t%s\t%d\t%d / %d", names.Show(p.Person), len(p.Deals), p.ScopeAmbiguities,
			p.CommitmentsOutsideDeliverables, p.ChangeOrdersAfterHandover, fixed(p.AvgPtsBelowTarget, 2), fixed(p.AvgDaysToSignoff, 1), p.HandoversOpen,
			p.ClientSignoffsByClient, p.ClientSignoffsOnBehalf)
		if flags {
			line += "\t" + flagMark(p.Flagged)
		}
		fmt.Fprintln(tw, line)
	}
	_ = tw.Flush()
	b.WriteString("\n")
}

// writeSigns prints the five signs per person and their trends.
func writeSigns(b *strings.Builder, r Report) {
	b.WriteString("The five warning signs\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	head := "  role\tperson"
	for _, c := range signColumns {
		head += "\t" + strings.ReplaceAll(c.head, "_", " ")
	}
	fmt.Fprintln(tw, head)
	for _, g := range []struct {
		role   string
		people []Person
	}{{"AE", r.ByAE}, {"PM", r.ByPM}} {
		for _, p := range g.people {
			line := "  " + g.role + "\t" + r.Names.Show(p.Person)
			for _, c := range signColumns {
				line += "\t" + c.value(p)
			}
			fmt.Fprintln(tw, line)
		}
	}
	_ = tw.Flush()
	b.WriteString("\nTrends by quarter of the close\n")
	for _, t := range r.Trends {
		fmt.Fprintf(b, "  %d. %s (%s):", t.Sign, t.Name, t.Unit)
		for _, q := range t.Quarters {
			fmt.Fprintf(b, "  %s %s", q.Quarter, fixed(q.Value, 2))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func flagMark(on bool) string {
	if on {
		return "FLAGGED"
	}
	return ""
}

// fixed prints an optional figure, "-" when there is none.
func fixed(d *decimal.Decimal, places int32) string {
	if d == nil {
		return "-"
	}
	return d.StringFixed(places)
}
