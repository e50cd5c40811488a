package pipeline

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"stor/internal/catalog"
)

// Metrics are the pipeline's Prometheus series.
type Metrics struct {
	queued, started, succeeded, failed, retried, snoozed *prometheus.CounterVec
	duration                                             *prometheus.HistogramVec
	alerts                                               prometheus.Counter
	// orphans counts tasks requeued because their process died; drained
	// counts tasks a shutdown cancelled and requeued.
	orphans, drained prometheus.Counter
}

// NewMetrics makes the series and registers them with reg (nil: none).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	cv := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "stor", Subsystem: "tasks", Name: name, Help: help}, []string{"task"})
	}
	m := &Metrics{
		queued:    cv("queued_total", "Tasks queued."),
		started:   cv("started_total", "Task attempts started."),
		succeeded: cv("succeeded_total", "Tasks that succeeded."),
		failed:    cv("failed_total", "Tasks that failed for good."),
		retried:   cv("retried_total", "Task attempts that failed and will be retried."),
		snoozed:   cv("snoozed_total", "Heavy tasks that waited for the machine to be less busy."),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "stor", Subsystem: "tasks",
			Name: "duration_seconds", Help: "Duration of task attempts.",
			Buckets: prometheus.ExponentialBuckets(0.01, 3, 12)}, []string{"task"}),
		alerts: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "stor", Name: "alerts_delivered_total",
			Help: "Alert webhook posts delivered."}),
		orphans: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "stor", Subsystem: "tasks", Name: "orphans_requeued_total",
			Help: "Tasks requeued because the process running them stopped beating (died)."}),
		drained: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "stor", Subsystem: "tasks", Name: "drain_requeued_total",
			Help: "Running tasks a shutdown cancelled after the drain timeout and put back in the queue."}),
	}
	if reg != nil {
		reg.MustRegister(m.queued, m.started, m.succeeded, m.failed, m.retried, m.snoozed, m.duration, m.alerts, m.orphans, m.drained)
	}
	return m
}

// depthCollector reports the number of tasks per name and state at scrape
// time, read from the catalog (one GROUP BY query).
type depthCollector struct {
	p    *Pipeline
	desc *prometheus.Desc
}

func (c depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c depthCollector) Collect(ch chan<- prometheus.Metric) {
	counts, err := catalog.TaskCounts(context.Background(), c.p.db.Reader())
	if err != nil {
		c.p.log.Warn("metrics: task counts", "err", err)
		return
	}
	// Every task and waiting state is reported, zeros included, so that
	// dashboards see a series from the start; totals live in the counters.
	for _, name := range c.p.order {
		for _, state := range []string{catalog.TaskQueued, catalog.TaskRetrying, catalog.TaskRunning} {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[name][state]), name, state)
		}
	}
}

// RegisterQueueDepth exports the queue depth gauge on reg.
func (p *Pipeline) RegisterQueueDepth(reg prometheus.Registerer) {
	reg.MustRegister(depthCollector{p: p, desc: prometheus.NewDesc("stor_tasks_queue_depth",
		"Tasks waiting or running, by task and state.", []string{"task", "state"}, nil)})
}
