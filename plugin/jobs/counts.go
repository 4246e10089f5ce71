package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/checkout"
)

// countsEvery is how often the leader folds the order count deltas into
// the rollup (checkout.CompactOrderCounts): counts are exact without it,
// it only keeps the deltas a count reads few.
const countsEvery = time.Minute

// countsArgs is the periodic compaction of the order counts.
type countsArgs struct{}

func (countsArgs) Kind() string { return "twpay.order_counts_compact" }

func countsPeriodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(countsEvery), func() (river.JobArgs, *river.InsertOpts) {
		return countsArgs{}, &river.InsertOpts{Queue: QueueReconcile, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByState: pendingStates}}
	}, &river.PeriodicJobOpts{RunOnStart: true})
}

type countsWorker struct {
	river.WorkerDefaults[countsArgs]
	db *bun.DB
}

func (w *countsWorker) Timeout(*river.Job[countsArgs]) time.Duration { return time.Minute }

func (w *countsWorker) Work(ctx context.Context, _ *river.Job[countsArgs]) error {
	_, err := checkout.CompactOrderCounts(ctx, w.db)
	return err
}
