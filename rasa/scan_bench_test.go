package rasa

import (
	"encoding/json"
	"testing"
)

func BenchmarkScan(b *testing.B) {
	body := rasaRequestBody(b, "validate_card_block_form", 50, false)
	b.Run("skipValue", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, _, err := skipValue(body, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var r Request
			if err := json.Unmarshal(body, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	var r Request
	json.Unmarshal(body, &r)
	b.Run("SlotCandidates", func(b *testing.B) {
		b.SetBytes(int64(len(r.Tracker.Events)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Tracker.SlotCandidates(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
