package freshdesk

import (
	"encoding/json"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/sctbnk/cardblock/freshdesk/freshdesktest"
)

// newFakeFreshdesk starts the fake Freshdesk (package freshdesktest) on a
// fresh local port, closed when the test ends. Its clock is frozen at the
// start, so the tests can place seeded tickets relative to fake.Now().
func newFakeFreshdesk(t *testing.T, apiKey string) *freshdesktest.Server {
	t.Helper()
	return newFakeFreshdeskOn(t, apiKey, nil)
}

// newFakeFreshdeskOn serves the fake on ln (nil: a fresh local port), so a
// test can point a client at an address before anything listens there.
func newFakeFreshdeskOn(t *testing.T, apiKey string, ln net.Listener) *freshdesktest.Server {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	f := freshdesktest.NewServer(freshdesktest.Config{
		APIKey:   apiKey,
		Listener: ln,
		Now:      func() time.Time { return now },
	})
	t.Cleanup(f.Close)
	return f
}

// TestFakeSharesOurWireNames pins what freshdesktest copies from this
// package instead of importing it (it cannot: our tests import it).
func TestFakeSharesOurWireNames(t *testing.T) {
	if freshdesktest.MarkerPrefix != markerPfx {
		t.Errorf("freshdesktest.MarkerPrefix = %q, want %q", freshdesktest.MarkerPrefix, markerPfx)
	}
	tk := BuildTicket(blockRequest(1), BuildOptions{ReferenceField: "cf_block_reference"})
	if got, want := freshdesktest.MarkerOf(tk.Tags), markerTag(tk.Tags); got != want || got == "" {
		t.Errorf("freshdesktest.MarkerOf = %q, markerTag = %q", got, want)
	}
	in := freshdesktest.FieldError{Field: "f", Message: "m", Code: "c"}
	b, _ := json.Marshal(in)
	var out FieldError
	if err := json.Unmarshal(b, &out); err != nil || !reflect.DeepEqual(out, FieldError(in)) {
		t.Errorf("FieldError shapes differ: %s → %+v (%v)", b, out, err)
	}
}
