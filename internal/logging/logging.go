// Package logging sets up stor's structured logs (log/slog, JSON by
// default) and carries the request id and transaction id in the context so
// that every line a request or any job it caused writes can be found with
// one grep.
package logging

import (
	"context"
	"io"
	"log/slog"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyTxID
)

// WithRequestID returns ctx carrying the HTTP request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, keyRequestID, id)
}

// WithTxID returns ctx carrying the transaction id.
func WithTxID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, keyTxID, id)
}

// RequestID is the request id in ctx, or "".
func RequestID(ctx context.Context) string { s, _ := ctx.Value(keyRequestID).(string); return s }

// TxID is the transaction id in ctx, or "".
func TxID(ctx context.Context) string { s, _ := ctx.Value(keyTxID).(string); return s }

// New returns a logger writing to w in format ("json" or "text") at level.
// Its records carry request_id and txid from the context of *Context calls.
func New(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	if format == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(ctxHandler{h})
}

type ctxHandler struct{ slog.Handler }

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	if id := TxID(ctx); id != "" {
		r.AddAttrs(slog.String("txid", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h ctxHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return ctxHandler{h.Handler.WithAttrs(as)}
}

func (h ctxHandler) WithGroup(name string) slog.Handler {
	return ctxHandler{h.Handler.WithGroup(name)}
}
