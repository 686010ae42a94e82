package s3

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Options configures a connection to an S3-compatible endpoint.
//
// Its String, GoString, LogValue and MarshalJSON redact AccessKey,
// SecretKey and SessionToken, so Options can be printed and logged safely.
type Options struct {
	// Endpoint is host[:port], without scheme. Empty means
	// s3.amazonaws.com.
	Endpoint string
	// Region; empty lets minio-go discover it.
	Region string
	// Static credentials. When AccessKey is empty the standard environment
	// variables (AWS_ACCESS_KEY_ID, ..., MINIO_ACCESS_KEY, ...) are used.
	AccessKey    string
	SecretKey    string
	SessionToken string
	// PathStyle forces path-style requests (http://host/bucket/key), as
	// MinIO and versitygw usually need.
	PathStyle bool
	// Secure selects TLS. nil means true; use Bool(false) for plain HTTP.
	Secure *bool
	// InsecureSkipVerify disables TLS certificate verification.
	InsecureSkipVerify bool
	// Retry bounds the resumption of interrupted reads.
	Retry Retry
	// Timeouts bound each request's waits on the endpoint.
	Timeouts Timeouts
	// Logger gets each retry (operation, key, attempt, cause) at debug
	// level; nil logs nothing.
	Logger *slog.Logger `json:"-"`
}

// Timeouts bound how long one request waits on the endpoint; zero fields
// take the defaults of DefaultTimeouts. A request that times out is retried
// once: an endpoint that accepts connections but never answers fails
// within about twice the longest of them, naming the endpoint.
type Timeouts struct {
	Connect        time.Duration // TCP connect, and the TLS handshake
	ResponseHeader time.Duration // from the request sent to the response headers
	IdleBody       time.Duration // longest wait for body bytes, received or sent
}

// DefaultTimeouts is the policy used for zero Timeouts fields.
var DefaultTimeouts = Timeouts{Connect: 10 * time.Second, ResponseHeader: 20 * time.Second, IdleBody: 20 * time.Second}

// maxTimeouts is how many timed-out attempts end a retry loop.
const maxTimeouts = 2

func (t Timeouts) withDefaults() Timeouts {
	if t.Connect <= 0 {
		t.Connect = DefaultTimeouts.Connect
	}
	if t.ResponseHeader <= 0 {
		t.ResponseHeader = DefaultTimeouts.ResponseHeader
	}
	if t.IdleBody <= 0 {
		t.IdleBody = DefaultTimeouts.IdleBody
	}
	return t
}

// Retry is the backoff policy for resuming reads. Zero fields take the
// defaults of DefaultRetry.
type Retry struct {
	InitialBackoff time.Duration // first wait; doubles after each failure
	MaxBackoff     time.Duration // cap of one wait
	Deadline       time.Duration // give up this long after the last progress
}

// DefaultRetry is the policy used for zero Retry fields.
var DefaultRetry = Retry{InitialBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second, Deadline: 2 * time.Minute}

func (r Retry) withDefaults() Retry {
	if r.InitialBackoff <= 0 {
		r.InitialBackoff = DefaultRetry.InitialBackoff
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = DefaultRetry.MaxBackoff
	}
	if r.MaxBackoff < r.InitialBackoff {
		r.MaxBackoff = r.InitialBackoff
	}
	if r.Deadline <= 0 {
		r.Deadline = DefaultRetry.Deadline
	}
	return r
}

// Bool returns a pointer to b, for Options.Secure.
func Bool(b bool) *bool { return &b }

// IsSecure reports whether TLS is used (Secure nil or true).
func (o Options) IsSecure() bool { return o.Secure == nil || *o.Secure }

const redacted = "REDACTED"

func mask(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// String implements fmt.Stringer with secrets redacted.
func (o Options) String() string {
	return fmt.Sprintf("s3.Options{Endpoint:%q Region:%q AccessKey:%q SecretKey:%q SessionToken:%q PathStyle:%t Secure:%t InsecureSkipVerify:%t Retry:%+v Timeouts:%+v}",
		o.Endpoint, o.Region, mask(o.AccessKey), mask(o.SecretKey), mask(o.SessionToken),
		o.PathStyle, o.IsSecure(), o.InsecureSkipVerify, o.Retry, o.Timeouts)
}

// GoString implements fmt.GoStringer (%#v) with secrets redacted.
func (o Options) GoString() string { return o.String() }

// Format implements fmt.Formatter so that every verb (%v, %+v, %#v, %s, %q,
// %x) prints the redacted form.
func (o Options) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", o.String())
	case 'x', 'X':
		fmt.Fprintf(f, fmt.FormatString(f, verb), o.String())
	default:
		fmt.Fprint(f, o.String())
	}
}

// LogValue implements slog.LogValuer with secrets redacted.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("endpoint", o.Endpoint),
		slog.String("region", o.Region),
		slog.String("access_key", mask(o.AccessKey)),
		slog.String("secret_key", mask(o.SecretKey)),
		slog.String("session_token", mask(o.SessionToken)),
		slog.Bool("path_style", o.PathStyle),
		slog.Bool("secure", o.IsSecure()),
		slog.Bool("insecure_skip_verify", o.InsecureSkipVerify),
		slog.Duration("retry_deadline", o.Retry.withDefaults().Deadline),
	)
}

// MarshalJSON implements json.Marshaler with secrets redacted, so options
// embedded in run records never persist credentials.
func (o Options) MarshalJSON() ([]byte, error) {
	type plain Options // no methods: avoids recursion
	p := plain(o)
	p.AccessKey, p.SecretKey, p.SessionToken = mask(o.AccessKey), mask(o.SecretKey), mask(o.SessionToken)
	return json.Marshal(p)
}

// redact replaces every occurrence of a credential in s.
func (o Options) redact(s string) string {
	for _, secret := range []string{o.SecretKey, o.SessionToken, o.AccessKey} {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, redacted)
		}
	}
	return s
}
