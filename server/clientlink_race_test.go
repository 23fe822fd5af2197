package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"dealflow/clientlink"
	"dealflow/deal"
	"dealflow/deal/dealtest"
)

// linkDecisions counts the deal's accepted client sign-offs given through
// the link, as the workflow recorded them.
func linkDecisions(t *testing.T, s *Server, dealID, linkID string) int {
	t.Helper()
	rec, _ := stored(t, s, dealID)
	n := 0
	for _, tk := range rec.Tickets {
		for _, so := range tk.Signoffs {
			if so.Client != nil && so.Client.LinkID == linkID && !so.Refused {
				n++
			}
		}
	}
	return n
}

// TestLinkUseRacesRevoke races 20 uses of one link against its revocation,
// on several deals. PostgreSQL decides the order: if the revoke won,
// nothing reached the deal; if a use won, exactly one decision did and the
// revoke found nothing live. Either way the link never decides again.
func TestLinkUseRacesRevoke(t *testing.T) {
	s, _ := linkServer(t, nil)
	links := &clientlink.Links{Secret: []byte(testLinkSecret), Store: s.Store}
	ctx := context.Background()
	outcomes := map[bool]int{}
	for round := range 4 {
		id := fmt.Sprintf("race-%d", round)
		atClientSignoff(t, s, id)
		k, err := links.Issue(ctx, id, "scoping", dealtest.Presales)
		if err != nil {
			t.Fatal(err)
		}
		o, err := links.Open(ctx, k.Token)
		if err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted, usedOrRevoked := 0, 0
		for i := range 20 {
			wg.Go(func() {
				<-start
				res, err := links.Decide(ctx, s.Client, o, clientlink.Decision{Name: "Jane Doe", Email: "jane@client.com",
					Decision: "approve", Evidence: fmt.Sprint("use-", i)})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && res.Status == deal.Accepted:
					accepted++
				case errors.Is(err, clientlink.ErrUsed), errors.Is(err, clientlink.ErrRevoked):
					usedOrRevoked++
				default:
					t.Errorf("round %d: a use answered %+v %v", round, res, err)
				}
			})
		}
		var revoked bool
		var revokeErr error
		wg.Go(func() {
			<-start
			revoked, revokeErr = links.Revoke(ctx, id, k.ID, "race-test")
		})
		close(start)
		wg.Wait()
		if revokeErr != nil {
			t.Fatal(revokeErr)
		}
		decided := linkDecisions(t, s, id, k.ID)
		switch {
		case revoked && (accepted != 0 || decided != 0):
			t.Errorf("round %d: revoked, yet %d uses were accepted and the deal holds %d decisions of the link", round, accepted, decided)
		case !revoked && (accepted != 1 || decided != 1):
			t.Errorf("round %d: a use won the race, yet %d uses were accepted and the deal holds %d decisions of the link", round, accepted, decided)
		}
		if accepted+usedOrRevoked != 20 {
			t.Errorf("round %d: %d of 20 uses answered", round, accepted+usedOrRevoked)
		}
		outcomes[revoked]++

		// Afterwards the link decides nothing, whichever won.
		if _, err := links.Decide(ctx, s.Client, o, clientlink.Decision{Name: "Jane Doe", Email: "jane@client.com", Decision: "approve", Evidence: "e3b0c442"}); err == nil {
			t.Errorf("round %d: the link decided again after the race", round)
		}
		if _, err := links.Open(ctx, k.Token); !errors.Is(err, clientlink.ErrRevoked) && !errors.Is(err, clientlink.ErrUsed) {
			t.Errorf("round %d: the link opens after the race: %v", round, err)
		}
		if got := linkDecisions(t, s, id, k.ID); got != decided {
			t.Errorf("round %d: the deal holds %d decisions of the link, was %d", round, got, decided)
		}
	}
	t.Logf("revoke won %d rounds, a use %d", outcomes[true], outcomes[false])
}

// TestReapprovalNeedsANewLink: a revoked link stays revoked, and a link
// issued before the deliverable was approved again (even identically) no
// longer opens; a link issued after the new approval works.
func TestReapprovalNeedsANewLink(t *testing.T) {
	s, _ := linkServer(t, nil)
	links := &clientlink.Links{Secret: []byte(testLinkSecret), Store: s.Store}
	ctx := context.Background()
	id := "reapprove-1"
	atClientSignoff(t, s, id)
	revoked, err := links.Issue(ctx, id, "scoping", dealtest.Presales)
	if err != nil {
		t.Fatal(err)
	}
	old, err := links.Issue(ctx, id, "scoping", dealtest.Presales)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := links.Revoke(ctx, id, revoked.ID, "test"); !ok || err != nil {
		t.Fatalf("revoke: %v %v", ok, err)
	}
	// The client asks for changes (recorded by the owner), and the owner
	// approves the very same deliverable again.
	send(t, s, id, dealtest.ClientSigned("scoping", "client", "changes_requested", map[string]string{"link": "by-email"}),
		dealtest.Approve("scoping", dealtest.Presales, "internal"))
	stored(t, s, id)

	if _, err := links.Open(ctx, revoked.Token); !errors.Is(err, clientlink.ErrRevoked) {
		t.Errorf("the revoked link after the re-approval: %v, want %v", err, clientlink.ErrRevoked)
	}
	if _, err := links.Open(ctx, old.Token); !errors.Is(err, clientlink.ErrChanged) {
		t.Errorf("a link of the approval before: %v, want %v", err, clientlink.ErrChanged)
	}
	fresh, err := links.Issue(ctx, id, "scoping", dealtest.Presales)
	if err != nil {
		t.Fatal(err)
	}
	o, err := links.Open(ctx, fresh.Token)
	if err != nil {
		t.Fatalf("a link issued after the re-approval: %v", err)
	}
	res, err := links.Decide(ctx, s.Client, o, clientlink.Decision{Name: "Jane Doe", Email: "jane@client.com", Decision: "approve", Evidence: "e3b0c442"})
	if err != nil || res.Status != deal.Accepted {
		t.Fatalf("deciding through the new link: %+v %v", res, err)
	}
	if n := linkDecisions(t, s, id, fresh.ID); n != 1 {
		t.Errorf("the deal holds %d decisions of the new link, want 1", n)
	}
}
