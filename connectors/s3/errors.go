package s3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"

	"github.com/minio/minio-go/v7"

	"github.com/medflow/medflow/connectors/objstore"
)

// ErrObjectChanged reports that an object changed (its ETag no longer
// matches) while a resumable read was re-opening it.
var ErrObjectChanged = errors.New("object changed during read")

// ErrCertificate reports that the endpoint's TLS certificate was rejected:
// final, never retried.
var ErrCertificate = errors.New("TLS certificate rejected")

// ErrTimeout: the endpoint did not answer in time (see Timeouts).
var ErrTimeout = errors.New("endpoint did not answer in time")

// errRangeIgnored: the server answered a ranged GET with other bytes.
var errRangeIgnored = errors.New("server ignored the Range header")

// Error is the sanitized form of an S3 or transport error: its message has
// credentials redacted, and it unwraps only to a sentinel (objstore
// ErrNotFound/ErrInvalidRange, ErrObjectChanged, context errors) never to
// the original error.
type Error struct {
	Code       string // S3 error code, e.g. "AccessDenied"; empty for transport errors
	StatusCode int    // HTTP status; 0 for transport errors
	msg        string
	kind       error
}

func (e *Error) Error() string { return e.msg }

// Unwrap returns the sentinel classifying the error, if any.
func (e *Error) Unwrap() error { return e.kind }

// sanitize converts err into an *Error with secrets redacted.
func (o Options) sanitize(err error) error {
	if err == nil {
		return nil
	}
	var se *Error
	if errors.As(err, &se) {
		return err
	}
	e := &Error{msg: o.redact(err.Error())}
	resp := minio.ToErrorResponse(err)
	e.Code, e.StatusCode = resp.Code, resp.StatusCode
	switch {
	case isTimeout(err): // before the context cases: http's timeouts match context.DeadlineExceeded
		e.kind = ErrTimeout
	case errors.Is(err, context.Canceled):
		e.kind = context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		e.kind = context.DeadlineExceeded
	case errors.Is(err, errRangeIgnored):
		e.kind = errRangeIgnored
	case certificateError(err):
		e.kind = ErrCertificate
	case resp.Code == "NoSuchKey" || resp.Code == "NotFound" || resp.StatusCode == http.StatusNotFound && resp.Code != "NoSuchBucket":
		e.kind = objstore.ErrNotFound
	case resp.Code == "InvalidRange" || resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		e.kind = objstore.ErrInvalidRange
	case resp.Code == "PreconditionFailed" || resp.StatusCode == http.StatusPreconditionFailed:
		e.kind = ErrObjectChanged
	}
	return e
}

// retryable reports whether a failed open may succeed later: transport
// errors and server-side (5xx, throttling) errors are; client errors,
// context cancellation and a rejected TLS certificate are not.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errRangeIgnored) ||
		errors.Is(err, ErrCertificate) {
		return false
	}
	var se *Error
	if !errors.As(err, &se) {
		return true
	}
	switch se.Code {
	case "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "RequestTimeTooSkewed":
		return true
	}
	return se.StatusCode == 0 || se.StatusCode >= 500
}

// isTimeout reports whether err is a transport timeout (connect, TLS
// handshake, response headers, an idle body or write).
func isTimeout(err error) bool {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return false
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if e == context.DeadlineExceeded || e == context.Canceled { // the caller's context ended
			return false
		}
	}
	return true
}

// certificateError reports whether err is a TLS certificate verification
// failure, which no retry can fix.
func certificateError(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid)
}
