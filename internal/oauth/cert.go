package oauth

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// Certificate is an app's client certificate with its RSA private key.
type Certificate struct {
	Chain []*x509.Certificate // leaf first
	Key   *rsa.PrivateKey
}

// CertInfo is what the window and the report show about the certificate. No key material.
type CertInfo struct {
	Subject          string    `json:"subject"`
	Thumbprint       string    `json:"thumbprint"` // SHA-1, upper-case hex: what the Entra portal lists
	ThumbprintSHA256 string    `json:"thumbprintSha256"`
	NotBefore        time.Time `json:"notBefore"`
	NotAfter         time.Time `json:"notAfter"`
}

// LoadCertificate reads a certificate and its private key from PEM (certificate + an
// unencrypted "PRIVATE KEY" or "RSA PRIVATE KEY") or from a PFX/PKCS#12 file with its
// password, as New-SelfSignedCertificate + Export-PfxCertificate make them.
func LoadCertificate(data []byte, password string) (*Certificate, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &CertError{Reason: "the file is empty"}
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return loadPEM(data)
	}
	key, leaf, cas, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		switch {
		case errors.Is(err, pkcs12.ErrIncorrectPassword):
			if password == "" {
				return nil, &CertError{Reason: "the PFX file is password-protected: give its password (--password-stdin or DEPUTY_PASSWORD)"}
			}
			return nil, &CertError{Reason: "wrong password for the PFX file"}
		default:
			return nil, &CertError{Reason: "not a PEM or PFX (PKCS#12) file, or a damaged one", Err: err}
		}
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, &CertError{Reason: fmt.Sprintf("the key is %T; Entra client certificates for MSAL must use an RSA key (New-SelfSignedCertificate -KeyAlgorithm RSA -KeyLength 2048)", key)}
	}
	if !samePublic(leaf, rk) {
		return nil, &CertError{Reason: "the private key in the PFX does not belong to its certificate"}
	}
	return &Certificate{Chain: append([]*x509.Certificate{leaf}, cas...), Key: rk}, nil
}

func loadPEM(data []byte) (*Certificate, error) {
	var c Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if _, enc := b.Headers["DEK-Info"]; enc || b.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, &CertError{Reason: "the private key is encrypted; export the certificate as a PFX with a password instead, or decrypt the key (openssl pkcs8 -topk8 -nocrypt)"}
		}
		switch b.Type {
		case "CERTIFICATE":
			x, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, &CertError{Reason: "a CERTIFICATE block cannot be parsed", Err: err}
			}
			c.Chain = append(c.Chain, x)
		case "PRIVATE KEY", "RSA PRIVATE KEY":
			if c.Key != nil {
				return nil, &CertError{Reason: "more than one private key in the file"}
			}
			var k any
			var err error
			if b.Type == "RSA PRIVATE KEY" {
				k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
			} else {
				k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
			}
			if err != nil {
				return nil, &CertError{Reason: "the private key cannot be parsed", Err: err}
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, &CertError{Reason: fmt.Sprintf("the key is %T; Entra client certificates for MSAL must use an RSA key", k)}
			}
			c.Key = rk
		case "EC PRIVATE KEY":
			return nil, &CertError{Reason: "the key is an EC key; Entra client certificates for MSAL must use an RSA key"}
		}
	}
	switch {
	case len(c.Chain) == 0:
		return nil, &CertError{Reason: "no certificate found in the PEM file"}
	case c.Key == nil:
		return nil, &CertError{Reason: "no private key found in the PEM file (it must hold the certificate and its unencrypted key)"}
	}
	// The leaf is the certificate that matches the key, wherever it is in the file.
	for i, x := range c.Chain {
		if samePublic(x, c.Key) {
			c.Chain[0], c.Chain[i] = c.Chain[i], c.Chain[0]
			return &c, nil
		}
	}
	return nil, &CertError{Reason: "the private key does not belong to any certificate in the file"}
}

func samePublic(c *x509.Certificate, k *rsa.PrivateKey) bool {
	p, ok := c.PublicKey.(*rsa.PublicKey)
	return ok && p.Equal(&k.PublicKey)
}

// Info describes the leaf certificate.
func (c *Certificate) Info() CertInfo {
	l := c.Chain[0]
	s1 := sha1.Sum(l.Raw)
	s2 := sha256.Sum256(l.Raw)
	return CertInfo{Subject: l.Subject.String(), Thumbprint: strings.ToUpper(hex.EncodeToString(s1[:])),
		ThumbprintSHA256: hex.EncodeToString(s2[:]), NotBefore: l.NotBefore, NotAfter: l.NotAfter}
}

// CheckValidity fails with a clear message for an expired or not yet valid certificate.
func (c *Certificate) CheckValidity(now time.Time) error {
	i := c.Info()
	switch {
	case now.After(i.NotAfter):
		return &CertError{Reason: fmt.Sprintf("the certificate %s (thumbprint %s) expired on %s; create a new one, upload its public part under App registrations → your app → Certificates & secrets, and use it here",
			i.Subject, i.Thumbprint, i.NotAfter.UTC().Format("2006-01-02"))}
	case now.Before(i.NotBefore):
		return &CertError{Reason: fmt.Sprintf("the certificate %s (thumbprint %s) is not valid before %s; check this computer's clock",
			i.Subject, i.Thumbprint, i.NotBefore.UTC().Format("2006-01-02 15:04 MST"))}
	}
	return nil
}

// PEM is the certificate chain and the unencrypted key as PEM — for the keychain only.
func (c *Certificate) PEM() []byte {
	var b bytes.Buffer
	for _, x := range c.Chain {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: x.Raw})
	}
	der, _ := x509.MarshalPKCS8PrivateKey(c.Key)
	_ = pem.Encode(&b, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return b.Bytes()
}
