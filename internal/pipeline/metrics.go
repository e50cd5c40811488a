package pipeline

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the pipeline's Prometheus series.
type Metrics struct {
	queued, started, succeeded, failed, retried, snoozed *prometheus.CounterVec
	duration                                             *prometheus.HistogramVec
	alerts                                               prometheus.Counter
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
	}
	if reg != nil {
		reg.MustRegister(m.queued, m.started, m.succeeded, m.failed, m.retried, m.snoozed, m.duration, m.alerts)
	}
	return m
}
