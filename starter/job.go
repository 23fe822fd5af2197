package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"dealflow/intake"
)

// runJob prints a finance intake job (a file of more than
// intake.SyncRows rows, answered 202 with its id): its counts while it
// runs, and every row's answer once it is done. It reads the worker's
// database (DATABASE_URL).
func runJob(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("invoice-job", "--job ID   (reads the worker's database at DATABASE_URL)")
	id := fs.String("job", "", "the job id the finance intake answered")
	if help, err := parse(fs, args, stdout); help || err != nil {
		return err
	}
	if *id == "" || fs.NArg() > 0 {
		return usageError{"usage: starter invoice-job --job ID"}
	}
	store, closeStore, err := openStore(ctx, "starter invoice-job")
	if err != nil {
		return err
	}
	defer closeStore()
	job, err := intake.GetJob(ctx, store, *id, 0, 1)
	if errors.Is(err, intake.ErrNoJob) {
		return fmt.Errorf("no intake job %s", *id)
	}
	if err != nil {
		return notOurDatabase(err)
	}
	if job.Status != "done" {
		fmt.Fprintf(stdout, "job %s is running: %d of %d rows answered (%d accepted, %d duplicate, %d refused); ask again\n",
			job.JobID, job.Rows-job.Waiting, job.Rows, job.Accepted, job.Duplicate, job.Refused)
		return nil
	}
	if job, err = intake.GetJob(ctx, store, *id, 0, 0); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "job %s is done:\n", job.JobID)
	return printInvoiceOutcomes(stdout, job.Answers)
}
