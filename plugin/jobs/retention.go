package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/checkout"
)

// retentionEvery is how often the leader ages rejected callbacks out of
// the event log (checkout.PurgeRejected).
const retentionEvery = time.Hour

// retentionArgs is the periodic purge of old rejected events.
type retentionArgs struct{}

func (retentionArgs) Kind() string { return "twpay.rejected_retention" }

func retentionPeriodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(retentionEvery), func() (river.JobArgs, *river.InsertOpts) {
		return retentionArgs{}, &river.InsertOpts{Queue: QueueReconcile, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByState: pendingStates}}
	}, &river.PeriodicJobOpts{RunOnStart: true})
}

type retentionWorker struct {
	river.WorkerDefaults[retentionArgs]
	db   *bun.DB
	keep time.Duration
	log  *slog.Logger
	now  func() time.Time
}

func (w *retentionWorker) Timeout(*river.Job[retentionArgs]) time.Duration { return 10 * time.Minute }

func (w *retentionWorker) Work(ctx context.Context, _ *river.Job[retentionArgs]) error {
	n, err := checkout.PurgeRejected(ctx, w.db, w.now().Add(-w.keep))
	if n > 0 {
		w.log.Info("event log: rejected callbacks aged out", "deleted", n, "older_than", w.keep)
	}
	return err
}
