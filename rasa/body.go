package rasa

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
)

// callError is a failure answered before any action runs.
type callError struct {
	status  int
	outcome string
	msg     string
}

func (e *callError) Error() string { return e.msg }

func badRequest(msg string) *callError {
	return &callError{status: http.StatusBadRequest, outcome: OutcomeBadRequest, msg: msg}
}

func tooLarge() *callError {
	return &callError{status: http.StatusRequestEntityTooLarge, outcome: OutcomeTooLarge, msg: "request body too large"}
}

// Scratch buffers for bodies of unknown size are reused; oversized ones are
// dropped so that one huge tracker does not pin its memory for the life of the
// process.
const maxPooledBuffer = 1 << 20

// Bodies up to largeBody are read freely; a larger one (a tracker of several
// thousand events, or an attack) first takes one of maxLargeBodies places, so
// that concurrent 16 MiB bodies cannot add up past the container's memory.
const (
	largeBody      = 1 << 20
	maxLargeBodies = 2
)

// pools holds a handler's reusable buffers and decompressors.
type pools struct {
	large   chan struct{} // places for large bodies; nil = unlimited
	scratch sync.Pool     // *[]byte
	zlib    sync.Pool     // io.ReadCloser implementing zlib.Resetter
	flate   sync.Pool     // io.ReadCloser implementing flate.Resetter
	gzip    sync.Pool     // *gzip.Reader
}

func (p *pools) getScratch() *[]byte {
	if b, ok := p.scratch.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 32<<10)
	return &b
}

func (p *pools) putScratch(b *[]byte, used []byte) {
	if cap(used) <= maxPooledBuffer {
		*b = used[:0]
		p.scratch.Put(b)
	}
}

var errBodyTooLarge = errors.New("request body too large")

// readAllLimited reads r to the end into b, growing b at most to limit+1
// bytes: a decompression bomb costs at most about twice the limit. Before b
// grows past largeBody, big is called once; its error stops the read.
func readAllLimited(r io.Reader, limit int64, b []byte, big func() error) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			newCap := int64(max(2*cap(b), 4096))
			newCap = min(newCap, limit+1)
			if newCap > largeBody && int64(cap(b)) <= largeBody && big != nil {
				if err := big(); err != nil {
					return b, err
				}
			}
			nb := make([]byte, len(b), newCap)
			copy(nb, b)
			b = nb
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			return b, errBodyTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// readBody returns the decompressed request body, enforcing limit on the
// decompressed size without ever holding more than limit+1 bytes. The slice
// is the request's own (the decoded Request aliases it), so it is never pooled;
// only the scratch buffer used when the size is unknown is.
//
// A body larger than largeBody holds one of the large-body places until the
// returned release is called (after the action, since the request aliases it).
func (p *pools) readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, func(), *callError) {
	release := func() {}
	big := func() error {
		if p.large == nil {
			return nil
		}
		select {
		case p.large <- struct{}{}:
			release = func() { <-p.large }
			return nil
		case <-r.Context().Done():
			return errBusy
		}
	}
	out, cerr := p.readBodyGated(w, r, limit, big)
	if cerr != nil {
		release()
		return nil, func() {}, cerr
	}
	return out, release, nil
}

var errBusy = errors.New("server busy with other large requests")

func (p *pools) readBodyGated(w http.ResponseWriter, r *http.Request, limit int64, big func() error) ([]byte, *callError) {
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	identity := enc == "" || enc == "identity"
	if identity && r.ContentLength > limit {
		return nil, tooLarge()
	}
	// The compressed input is bounded too: empty deflate blocks can make a
	// huge stream that inflates to nothing.
	body := http.MaxBytesReader(w, r.Body, limit)
	if identity && r.ContentLength > 0 {
		if r.ContentLength > largeBody {
			if err := big(); err != nil {
				return nil, classifyReadError(err, "could not read request body")
			}
		}
		out := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(body, out); err != nil {
			return nil, classifyReadError(err, "could not read request body")
		}
		return out, nil
	}
	var src io.Reader
	switch {
	case identity:
		src = body
	case enc == "deflate":
		rc, release, err := p.deflateReader(body)
		if err != nil {
			return nil, classifyReadError(err, "invalid deflate body")
		}
		defer release()
		src = rc
	case enc == "gzip" || enc == "x-gzip":
		zr, _ := p.gzip.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(body)
		} else {
			err = zr.Reset(body)
		}
		if err != nil {
			return nil, classifyReadError(err, "invalid gzip body")
		}
		defer p.gzip.Put(zr)
		zr.Multistream(false)
		src = zr
	default:
		return nil, &callError{
			status:  http.StatusUnsupportedMediaType,
			outcome: OutcomeUnsupportedEncoding,
			msg:     "unsupported Content-Encoding (use identity, deflate or gzip)",
		}
	}
	scratch := p.getScratch()
	b, err := readAllLimited(src, limit, (*scratch)[:0], big)
	var out []byte
	if err == nil {
		out = bytes.Clone(b) // before the scratch buffer goes back to the pool
	}
	p.putScratch(scratch, b)
	if err != nil {
		return nil, classifyReadError(err, "could not read request body")
	}
	return out, nil
}

func classifyReadError(err error, msg string) *callError {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || errors.Is(err, errBodyTooLarge) {
		return tooLarge()
	}
	if errors.Is(err, errBusy) {
		// The caller gave up while waiting; nobody reads this reply.
		return &callError{status: http.StatusServiceUnavailable, outcome: OutcomeError, msg: errBusy.Error()}
	}
	return badRequest(msg)
}

// deflateReader accepts what "Content-Encoding: deflate" means on the wire:
// a zlib stream (RFC 1950, what Rasa's aiohttp sends) or, as some clients
// do, raw deflate (RFC 1951). A zlib header is two bytes whose check bits
// make them a multiple of 31 with compression method 8; anything else is read
// as raw deflate. Both paths are bounded by the caller's limit.
func (p *pools) deflateReader(body io.Reader) (io.Reader, func(), error) {
	var hdr [2]byte
	n, err := io.ReadFull(body, hdr[:])
	if err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return nil, nil, badRequest("empty request body")
		}
		return nil, nil, err
	}
	src := io.MultiReader(bytes.NewReader(hdr[:]), body)
	if hdr[0]&0x0f == 8 && hdr[0]>>4 <= 7 && (uint16(hdr[0])<<8|uint16(hdr[1]))%31 == 0 {
		if zr, ok := p.zlib.Get().(io.ReadCloser); ok {
			if err := zr.(zlib.Resetter).Reset(src, nil); err != nil {
				return nil, nil, err
			}
			return zr, func() { p.zlib.Put(zr) }, nil
		}
		zr, err := zlib.NewReader(src)
		if err != nil {
			return nil, nil, err
		}
		return zr, func() { p.zlib.Put(zr) }, nil
	}
	if fr, ok := p.flate.Get().(io.ReadCloser); ok {
		if err := fr.(flate.Resetter).Reset(src, nil); err != nil {
			return nil, nil, err
		}
		return fr, func() { p.flate.Put(fr) }, nil
	}
	fr := flate.NewReader(src)
	return fr, func() { p.flate.Put(fr) }, nil
}
