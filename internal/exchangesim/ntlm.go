package exchangesim

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"strings"
	"time"
	"unicode/utf16"

	//lint:ignore SA1019 NTLM is defined on MD4 (MS-NLMP NTOWFv2); no other hash can verify it
	"golang.org/x/crypto/md4"
)

// Server side of NTLMSSP ([MS-NLMP]), written independently of any client library:
// NEGOTIATE (type 1) → CHALLENGE (type 2) → AUTHENTICATE (type 3), NTLMv2 only.

var ntlmSignature = []byte("NTLMSSP\x00")

const (
	flagUnicode            = 1 << 0
	flagRequestTarget      = 1 << 2
	flagNTLM               = 1 << 9
	flagAlwaysSign         = 1 << 15
	flagTargetTypeDomain   = 1 << 16
	flagExtendedSessionSec = 1 << 19
	flagTargetInfo         = 1 << 23
	flagVersion            = 1 << 25
	flag128                = 1 << 29
	flag56                 = 1 << 31
	// NTLMSSP_NEGOTIATE_KEY_EXCH (1<<30) is deliberately never offered: go-ntlmssp refuses it.
)

const (
	avEOL             = 0
	avNbComputerName  = 1
	avNbDomainName    = 2
	avDNSComputerName = 3
	avDNSDomainName   = 4
	avDNSTreeName     = 5
	avTimestamp       = 7
)

var errNTLM = errors.New("ntlm: invalid message")

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func fromUTF16le(b []byte) string {
	if len(b)%2 != 0 {
		b = b[:len(b)-1]
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// ntlmType returns the message type of an NTLMSSP token, 0 if it is not one.
func ntlmType(tok []byte) uint32 {
	if len(tok) < 12 || !bytes.Equal(tok[:8], ntlmSignature) {
		return 0
	}
	return binary.LittleEndian.Uint32(tok[8:12])
}

// filetime is the Windows FILETIME of t (100 ns ticks since 1601).
func filetime(t time.Time) uint64 {
	return uint64(t.UnixNano()/100) + 116444736000000000
}

// buildChallenge returns a type 2 message with a fresh random server challenge.
func buildChallenge(netbios, dnsDomain string) (msg []byte, serverChallenge []byte, err error) {
	serverChallenge = make([]byte, 8)
	if _, err := rand.Read(serverChallenge); err != nil {
		return nil, nil, err
	}
	computer := "EXCH01"
	var ti bytes.Buffer
	av := func(id uint16, v []byte) {
		_ = binary.Write(&ti, binary.LittleEndian, id)
		_ = binary.Write(&ti, binary.LittleEndian, uint16(len(v)))
		ti.Write(v)
	}
	av(avNbDomainName, utf16le(netbios))
	av(avNbComputerName, utf16le(computer))
	av(avDNSDomainName, utf16le(dnsDomain))
	av(avDNSComputerName, utf16le(strings.ToLower(computer)+"."+dnsDomain))
	av(avDNSTreeName, utf16le(dnsDomain))
	ts := make([]byte, 8)
	binary.LittleEndian.PutUint64(ts, filetime(time.Now()))
	av(avTimestamp, ts)
	av(avEOL, nil)

	target := utf16le(netbios)
	const hdr = 56
	flags := uint32(flagUnicode | flagRequestTarget | flagNTLM | flagAlwaysSign | flagTargetTypeDomain |
		flagExtendedSessionSec | flagTargetInfo | flagVersion | flag128 | flag56)
	b := make([]byte, hdr, hdr+len(target)+ti.Len())
	copy(b, ntlmSignature)
	binary.LittleEndian.PutUint32(b[8:], 2)
	binary.LittleEndian.PutUint16(b[12:], uint16(len(target)))
	binary.LittleEndian.PutUint16(b[14:], uint16(len(target)))
	binary.LittleEndian.PutUint32(b[16:], hdr)
	binary.LittleEndian.PutUint32(b[20:], flags)
	copy(b[24:32], serverChallenge)
	binary.LittleEndian.PutUint16(b[40:], uint16(ti.Len()))
	binary.LittleEndian.PutUint16(b[42:], uint16(ti.Len()))
	binary.LittleEndian.PutUint32(b[44:], uint32(hdr+len(target)))
	// Version: Windows Server 2019 (10.0.17763), NTLMSSP revision 15.
	b[48], b[49] = 10, 0
	binary.LittleEndian.PutUint16(b[50:], 17763)
	b[55] = 15
	b = append(b, target...)
	b = append(b, ti.Bytes()...)
	return b, serverChallenge, nil
}

// authenticateMsg is the part of a type 3 message the server verifies.
type authenticateMsg struct {
	User, Domain, Workstation string
	NtResponse                []byte
}

func field(msg []byte, off int) ([]byte, error) {
	if off+8 > len(msg) {
		return nil, errNTLM
	}
	l := int(binary.LittleEndian.Uint16(msg[off:]))
	p := int(binary.LittleEndian.Uint32(msg[off+4:]))
	if l == 0 {
		return nil, nil
	}
	if p < 0 || p > len(msg) || l > len(msg)-p {
		return nil, errNTLM
	}
	return msg[p : p+l], nil
}

func parseAuthenticate(msg []byte) (*authenticateMsg, error) {
	if ntlmType(msg) != 3 || len(msg) < 64 {
		return nil, errNTLM
	}
	flags := binary.LittleEndian.Uint32(msg[60:])
	str := func(b []byte) string {
		if flags&flagUnicode != 0 {
			return fromUTF16le(b)
		}
		return string(b)
	}
	nt, err := field(msg, 20)
	if err != nil {
		return nil, err
	}
	dom, err := field(msg, 28)
	if err != nil {
		return nil, err
	}
	usr, err := field(msg, 36)
	if err != nil {
		return nil, err
	}
	ws, err := field(msg, 44)
	if err != nil {
		return nil, err
	}
	return &authenticateMsg{User: str(usr), Domain: str(dom), Workstation: str(ws), NtResponse: nt}, nil
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

// ntowfv2 = HMAC-MD5(MD4(UTF16LE(password)), UTF16LE(UPPER(user) + domain)).
func ntowfv2(password, user, domain string) []byte {
	h := md4.New()
	h.Write(utf16le(password))
	return hmacMD5(h.Sum(nil), utf16le(strings.ToUpper(user)+domain))
}

// verifyNTLMv2 checks NTProofStr = HMAC-MD5(NTOWFv2, serverChallenge || blob) against
// the first 16 bytes of the NtChallengeResponse. NTLMv1 (24-byte responses) is refused.
func verifyNTLMv2(am *authenticateMsg, password string, serverChallenge []byte) bool {
	if len(am.NtResponse) <= 24 || len(serverChallenge) != 8 {
		return false
	}
	proof, blob := am.NtResponse[:16], am.NtResponse[16:]
	want := hmacMD5(ntowfv2(password, am.User, am.Domain), serverChallenge, blob)
	return hmac.Equal(proof, want)
}
