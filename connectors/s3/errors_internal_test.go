package s3

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/url"
	"syscall"
	"testing"
)

// A rejected certificate stays final after sanitize (which keeps only the
// message and a sentinel), so the connector's own retry loops stop at once.
func TestCertificateErrorsAreFinal(t *testing.T) {
	urlErr := func(err error) error { return &url.Error{Op: "Head", URL: "https://h/b/", Err: err} }
	tests := []struct {
		name  string
		err   error
		final bool
	}{
		{"unknown authority inside tls.CertificateVerificationError", urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), true},
		{"unknown authority unwrapped by the transport", urlErr(x509.UnknownAuthorityError{}), true},
		{"hostname mismatch", urlErr(&tls.CertificateVerificationError{Err: x509.HostnameError{Certificate: &x509.Certificate{}, Host: "h"}}), true},
		{"expired", urlErr(x509.CertificateInvalidError{Reason: x509.Expired}), true},
		{"connection refused", urlErr(syscall.ECONNREFUSED), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Options{}.sanitize(tc.err)
			if got := errors.Is(err, ErrCertificate); got != tc.final {
				t.Errorf("errors.Is(ErrCertificate) = %v, want %v (%v)", got, tc.final, err)
			}
			if retryable(err) == tc.final {
				t.Errorf("retryable = %v, want %v", !tc.final, !tc.final)
			}
		})
	}
}
