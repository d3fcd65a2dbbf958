package rasa_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/sctbnk/cardblock/rasa"
)

// validateForm accepts a four-digit candidate for card_last4 and rejects
// anything else, the way a validate_<form> action answers Rasa.
type validateForm struct{}

func (validateForm) Name() string { return "validate_card_block_form" }

func (validateForm) Run(ctx context.Context, req *rasa.Request) (rasa.Result, error) {
	cands, err := req.Tracker.SlotCandidates()
	if err != nil {
		return rasa.Result{}, err
	}
	var res rasa.Result
	for _, c := range cands {
		if v, ok := c.String(); ok && c.Name == "card_last4" && len(v) == 4 {
			res.Events = append(res.Events, rasa.SlotSet("card_last4", v))
			continue
		}
		res.Events = append(res.Events, rasa.SlotSet(c.Name, nil))
		res.Responses = append(res.Responses, rasa.Utter("utter_verification_failed", nil))
	}
	return res, nil
}

func ExampleNewHandler() {
	reg := prometheus.NewRegistry()
	h, err := rasa.NewHandler(rasa.Config{
		Actions: []rasa.Action{validateForm{}},
		Token:   "s3cret",
		Logger:  zerolog.Nop(),
		Metrics: rasa.NewMetrics(reg),
	})
	if err != nil {
		panic(err)
	}
	body := `{"next_action":"validate_card_block_form","tracker":{"slots":{},"events":[
		{"event":"action","name":"card_block_form"},{"event":"slot","name":"card_last4","value":4567}]}}`
	req := httptest.NewRequest(http.MethodPost, "/webhook?token=s3cret", bytes.NewBufferString(body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body)
	// Output: 200 {"events":[{"event":"slot","timestamp":null,"name":"card_last4","value":"4567"}],"responses":[]}
}
