// Package jobs is twpay's background work on River (a Postgres-backed job
// engine): side effects delivered to the host's hook outside any database
// transaction, with a timeout, exponential back-off and a maximum number of
// attempts (then discarded and kept, a dead letter); and reconciliation as
// a periodic scan that enqueues one job per due attempt, so one failure
// touches one attempt. River's tables live in twpay's schema; several
// instances on one database share the work, and River's leader election
// makes one of them schedule the periodic scan.
package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/metrics"
	"github.com/twpay/twpay/plugin/pay"
)

// Config configures the background work.
type Config struct {
	DB       *bun.DB
	Store    *checkout.Store
	Registry *pay.Registry
	// Hook receives each side effect; nil leaves them queued (available in
	// River's table) for a later process with a hook.
	Hook        func(ctx context.Context, e checkout.SideEffect) error
	HookTimeout time.Duration // per delivery (default 10 s)
	// Mail sends one paid order's confirmation (checkout.ConfirmationMail
	// jobs, queued in the paying transaction); nil leaves them queued.
	Mail func(ctx context.Context, m checkout.ConfirmationMail) error
	// ReconcileEvery is how often the leader scans for due attempts
	// (default 1 minute).
	ReconcileEvery time.Duration
	// PollInterval is how often idle workers look for new jobs (default 1
	// s): twpay's pool is database/sql, which has no LISTEN.
	PollInterval time.Duration
	Workers      int    // per queue (default 4)
	ID           string // this instance's name in River (default: River's)
	Logger       *slog.Logger
	// RejectedRetention is how long rejected events stay in the event log
	// (default checkout.DefaultRejectedRetention); an hourly job deletes older ones.
	RejectedRetention time.Duration
	Metrics           *metrics.Metrics // carried in every job's context (reconcile outcomes, gateway calls); nil: none
}

// QueueReconcile is the River queue of reconciliation jobs.
const QueueReconcile = "twpay_reconcile"

// Runner is the River client that works twpay's queues.
type Runner struct {
	client *river.Client[*sql.Tx]
	db     *sql.DB
	log    *slog.Logger
}

// New builds the River client; Start runs it.
func New(cfg Config) (*Runner, error) {
	if cfg.HookTimeout <= 0 {
		cfg.HookTimeout = 10 * time.Second
	}
	if cfg.ReconcileEvery <= 0 {
		cfg.ReconcileEvery = time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &scanWorker{store: cfg.Store, registry: cfg.Registry, log: cfg.Logger})
	river.AddWorker(workers, &attemptWorker{store: cfg.Store, registry: cfg.Registry, log: cfg.Logger})
	river.AddWorker(workers, &countsWorker{db: cfg.DB})
	river.AddWorker(workers, &retentionWorker{db: cfg.DB, keep: cmp.Or(cfg.RejectedRetention, checkout.DefaultRejectedRetention), log: cfg.Logger, now: time.Now})
	queues := map[string]river.QueueConfig{QueueReconcile: {MaxWorkers: cfg.Workers}}
	if cfg.Hook != nil {
		river.AddWorker(workers, &hookWorker{hook: cfg.Hook, timeout: cfg.HookTimeout})
		queues[checkout.QueueSideEffects] = river.QueueConfig{MaxWorkers: cfg.Workers}
	}
	if cfg.Mail != nil {
		river.AddWorker(workers, &mailWorker{send: cfg.Mail})
		queues[checkout.QueueMail] = river.QueueConfig{MaxWorkers: cfg.Workers}
	}
	client, err := river.NewClient(riverdatabasesql.New(cfg.DB.DB), &river.Config{
		ID:                cfg.ID,
		Queues:            queues,
		Workers:           workers,
		FetchPollInterval: cfg.PollInterval,
		FetchCooldown:     min(cfg.PollInterval, 100*time.Millisecond),
		Logger:            cfg.Logger.With("component", "river"),
		Middleware: []rivertype.Middleware{river.WorkerMiddlewareFunc(func(ctx context.Context, _ *rivertype.JobRow, work func(context.Context) error) error {
			return work(metrics.NewContext(ctx, cfg.Metrics))
		})},
		PeriodicJobs: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(cfg.ReconcileEvery),
			func() (river.JobArgs, *river.InsertOpts) {
				return scanArgs{}, &river.InsertOpts{Queue: QueueReconcile, UniqueOpts: river.UniqueOpts{ByState: pendingStates}}
			}, &river.PeriodicJobOpts{RunOnStart: true}), countsPeriodic(), retentionPeriodic()},
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Runner{client: client, db: cfg.DB.DB, log: cfg.Logger}, nil
}

// pendingStates: a job in one of these is waiting or working, so another
// one for the same thing would only repeat it.
var pendingStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}

// Start begins working jobs; it returns once River is running.
func (r *Runner) Start(ctx context.Context) error { return r.client.Start(ctx) }

// hardStopWait bounds Stop's wait for cancelled jobs to return.
const hardStopWait = 5 * time.Second

// Stop lets running jobs finish (until ctx ends, then cancels them) and
// stops River.
func (r *Runner) Stop(ctx context.Context) error {
	err := r.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		// Cancelled jobs still get a moment to return; one that ignores
		// its context must not keep the process from exiting.
		hard, cancel := context.WithTimeout(context.Background(), hardStopWait)
		defer cancel()
		return r.client.StopAndCancel(hard)
	}
	return err
}

// ErrNotDiscarded: Retry found no discarded job with that id (retried
// meanwhile, or gone).
var ErrNotDiscarded = errors.New("jobs: the job is not discarded")

// Retry makes a discarded job (a dead letter) available again, through
// River (which grants it one more attempt). The job's row lock makes the
// check and the retry one step: River's JobRetry alone would also re-run a
// completed job.
func (r *Runner) Retry(ctx context.Context, id int64) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var state rivertype.JobState
	err = tx.QueryRowContext(ctx, "SELECT state FROM river_job WHERE id = $1 FOR UPDATE", id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && state != rivertype.JobStateDiscarded) {
		return fmt.Errorf("%w: job %d is %q", ErrNotDiscarded, id, state)
	}
	if err != nil {
		return err
	}
	if _, err := r.client.JobRetryTx(ctx, tx, id); err != nil {
		return fmt.Errorf("jobs: retry %d: %w", id, err)
	}
	return tx.Commit()
}

// hookWorker hands side effects to the host, outside any transaction.
type hookWorker struct {
	river.WorkerDefaults[checkout.SideEffect]
	hook    func(context.Context, checkout.SideEffect) error
	timeout time.Duration
}

func (w *hookWorker) Timeout(*river.Job[checkout.SideEffect]) time.Duration { return w.timeout }

func (w *hookWorker) Work(ctx context.Context, job *river.Job[checkout.SideEffect]) error {
	e := job.Args
	e.JobID = job.ID
	return w.hook(ctx, e)
}

// mailWorker sends confirmation mail, outside any transaction: at least
// once (an SMTP answer lost after the server took the mail retries it).
type mailWorker struct {
	river.WorkerDefaults[checkout.ConfirmationMail]
	send func(context.Context, checkout.ConfirmationMail) error
}

func (w *mailWorker) Timeout(*river.Job[checkout.ConfirmationMail]) time.Duration { return time.Minute }

func (w *mailWorker) Work(ctx context.Context, job *river.Job[checkout.ConfirmationMail]) error {
	return w.send(ctx, job.Args)
}

// scanArgs is the periodic scan for due attempts.
type scanArgs struct{}

func (scanArgs) Kind() string { return "twpay.reconcile_scan" }

type scanWorker struct {
	river.WorkerDefaults[scanArgs]
	store    *checkout.Store
	registry *pay.Registry
	log      *slog.Logger
}

// Work enqueues one job per due attempt (one at a time per attempt).
func (w *scanWorker) Work(ctx context.Context, _ *river.Job[scanArgs]) error {
	ids, err := w.store.Due(ctx, w.registry.Names(), pay.DueBatch)
	if err != nil || len(ids) == 0 {
		return err
	}
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = river.InsertManyParams{Args: AttemptArgs{AttemptID: id}, InsertOpts: &river.InsertOpts{
			Queue: QueueReconcile, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: pendingStates}}}
	}
	client, err := river.ClientFromContextSafely[*sql.Tx](ctx)
	if err != nil {
		return err
	}
	_, err = client.InsertMany(ctx, params)
	return err
}

// AttemptArgs asks the gateway about one attempt.
type AttemptArgs struct {
	AttemptID int64 `json:"attempt_id"`
}

func (AttemptArgs) Kind() string { return "twpay.reconcile_attempt" }

type attemptWorker struct {
	river.WorkerDefaults[AttemptArgs]
	store    *checkout.Store
	registry *pay.Registry
	log      *slog.Logger
}

// Timeout bounds one gateway question (the gateway clients time out sooner).
func (w *attemptWorker) Timeout(*river.Job[AttemptArgs]) time.Duration { return time.Minute }

// Work asks once. A gateway's failure is recorded on the attempt with its
// own back-off (the job succeeds); only our own failure retries the job.
func (w *attemptWorker) Work(ctx context.Context, job *river.Job[AttemptArgs]) error {
	a, err := w.store.Attempt(ctx, job.Args.AttemptID)
	if err != nil {
		return err
	}
	ad, ok := w.registry.Adapter(a.Gateway)
	if !ok {
		return nil // gateway no longer enabled: the scan does not pick it
	}
	rep, qerr, err := pay.ReconcileAttempt(ctx, w.store, ad, a.ID)
	if qerr != nil {
		w.log.Warn("reconcile", "gateway", a.Gateway, "trade", a.MerchantTradeNo, "err", qerr)
	}
	if rep.Paid+rep.Failed+rep.Expired+rep.Review > 0 {
		w.log.Info("reconcile", "gateway", a.Gateway, "trade", a.MerchantTradeNo,
			"paid", rep.Paid, "failed", rep.Failed, "expired", rep.Expired, "review", rep.Review)
	}
	return err
}
