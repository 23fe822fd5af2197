package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"dealflow/clientlink"
	"dealflow/db"
)

// runClientLink issues a link for the client's sign-off of a ticket, or
// revokes the ticket's live links. Both are PostgreSQL only (the link is
// checked again when the client uses it, and the deal decides then), so
// like `record` it reads DATABASE_URL; the link is signed with
// CLIENT_LINK_SECRET, the worker's.
func runClientLink(ctx context.Context, _ *target, args []string, stdout io.Writer) error {
	fs := newFlagSet("client-link", "--deal ID --ticket T [--by U_OWNER] [--revoke]   (reads DATABASE_URL and CLIENT_LINK_SECRET)")
	dealID := fs.String("deal", "", "the deal's id")
	ticket := fs.String("ticket", "", "the presale ticket waiting for the client (scoping, ...)")
	by := fs.String("by", "starter", "who issues or revokes, for the record (the owner's Slack id)")
	revoke := fs.Bool("revoke", false, "revoke every live link of the ticket instead of issuing one")
	if help, err := parse(fs, args, stdout); help || err != nil {
		return err
	}
	if *dealID == "" || *ticket == "" || fs.NArg() > 0 {
		return usageError{"usage: starter client-link --deal ID --ticket T [--by U_OWNER] [--revoke]"}
	}
	secret := os.Getenv("CLIENT_LINK_SECRET")
	base := os.Getenv("DEALFLOW_BASE_URL")
	if secret == "" && !*revoke {
		return usageError{"client links are off: set CLIENT_LINK_SECRET to the worker's"}
	}
	if err := clientlink.CheckBaseURL(base); err != nil && !*revoke {
		return usageError{err.Error()}
	}
	store, closeStore, err := openStore(ctx, "starter client-link")
	if err != nil {
		return err
	}
	defer closeStore()
	links := &clientlink.Links{Secret: []byte(secret), Store: store}
	if *revoke {
		n, err := links.RevokeTicket(ctx, *dealID, *ticket, *by)
		if err != nil {
			return notOurDatabase(err)
		}
		fmt.Fprintf(stdout, "revoked %d live link(s) of %s on deal %s\n", n, *ticket, *dealID)
		return nil
	}
	l, err := links.Issue(ctx, *dealID, *ticket, *by)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return fmt.Errorf("unknown deal %s: the database has no such deal (%w)", *dealID, err)
	case err != nil:
		return notOurDatabase(err)
	}
	fmt.Fprintf(stdout, "%s\nlink %s for the client's sign-off of %s on deal %s, valid until %s for one decision; send it to the client yourself\n",
		l.URL(base), l.ID, l.TicketID, l.DealID, l.ExpiresAt.Format("2006-01-02 15:04 MST"))
	return nil
}
