package rasa

import (
	"context"
	"errors"
)

// Action is one custom action. Run must not keep req after it returns.
// Returning a *RejectError (see Reject) rejects the action; any other error
// is treated as a bug (HTTP 500, logged once).
type Action interface {
	Name() string
	Run(ctx context.Context, req *Request) (Result, error)
}

// RejectError makes the handler answer 400 {"error", "action_name"}, which
// Rasa turns into an ActionExecutionRejection (other policies take over).
type RejectError struct {
	Reason string
}

func (e RejectError) Error() string { return "action rejected: " + e.Reason }

// Reject returns a *RejectError with the given reason. The reason is sent to
// Rasa: keep user data out of it.
func Reject(reason string) error { return &RejectError{Reason: reason} }

// asReject finds a RejectError returned either as a pointer (what Reject
// builds) or as a value.
func asReject(err error) (RejectError, bool) {
	var p *RejectError
	if errors.As(err, &p) && p != nil {
		return *p, true
	}
	var v RejectError
	if errors.As(err, &v) {
		return v, true
	}
	return RejectError{}, false
}

// NewAction adapts a function to Action, handy for small actions and tests.
func NewAction(name string, run func(ctx context.Context, req *Request) (Result, error)) Action {
	return funcAction{name: name, run: run}
}

type funcAction struct {
	name string
	run  func(ctx context.Context, req *Request) (Result, error)
}

func (a funcAction) Name() string { return a.name }

func (a funcAction) Run(ctx context.Context, req *Request) (Result, error) {
	return a.run(ctx, req)
}
