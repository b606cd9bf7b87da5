package profile

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"deputy/internal/secret"
)

func validOnPrem() Profile {
	return Profile{
		ID: NewID(), Name: "Interview scheduling", Environment: OnPrem,
		EWSURL: "https://mail.contoso.com/EWS/Exchange.asmx", Auth: AuthNTLM, User: `CONTOSO\svc-deputy`,
		ServiceMailbox: "svc-deputy@contoso.com", Mailboxes: []string{"alice@contoso.com", "bob@contoso.com"},
		Rooms: []string{"room401@contoso.com"}, CheckRooms: true, Concurrency: 8,
		TLS: TLS{PinSHA256: strings.Repeat("ab", 32)},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(p *Profile)
		fields []string // expected FieldError fields; none = valid
	}{
		{"valid on-prem", func(p *Profile) {}, nil},
		{"valid UPN", func(p *Profile) { p.User = "svc-deputy@contoso.local" }, nil},
		{"valid exo app secret", func(p *Profile) {
			p.Environment, p.EWSURL, p.Auth, p.User = EXO, "", AuthOAuthSecret, ""
			p.Tenant, p.ClientID = "contoso.onmicrosoft.com", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
		}, nil},
		{"autodiscover without URL", func(p *Profile) { p.EWSURL, p.UseAutodiscover = "", true }, nil},
		{"http allowed for a lab", func(p *Profile) { p.EWSURL, p.TLS.AllowHTTP = "http://127.0.0.1:8080/EWS/Exchange.asmx", true }, nil},
		{"concurrency default", func(p *Profile) { p.Concurrency = 0 }, nil},
		{"everything wrong", func(p *Profile) {
			*p = Profile{Name: " ", Environment: "cloud", EWSURL: "ftp://x", Auth: "kerberos", Concurrency: 28, Protocol: "imap",
				TLS: TLS{PinSHA256: "zz"}, ServiceMailbox: "svc", ID: "../etc"}
		}, []string{"name", "id", "environment", "ewsUrl", "auth", "serviceMailbox", "concurrency", "tls.pinSha256", "protocol"}},
		{"no environment", func(p *Profile) { p.Environment = "" }, []string{"environment"}},
		{"http without permission", func(p *Profile) { p.EWSURL = "http://mail.contoso.com/EWS/Exchange.asmx" }, []string{"ewsUrl"}},
		{"no URL", func(p *Profile) { p.EWSURL = "" }, []string{"ewsUrl"}},
		{"URL without scheme", func(p *Profile) { p.EWSURL = "mail.contoso.com/EWS/Exchange.asmx" }, []string{"ewsUrl"}},
		{"URL with credentials", func(p *Profile) { p.EWSURL = "https://svc:pw@mail.contoso.com/EWS/Exchange.asmx" }, []string{"ewsUrl"}},
		{"basic on exo", func(p *Profile) { p.Environment, p.Auth = EXO, AuthBasic }, []string{"auth"}},
		{"oauth without tenant and client", func(p *Profile) { p.Environment, p.Auth = EXO, AuthOAuthCert }, []string{"tenant", "clientId", "certFile"}},
		{"no user", func(p *Profile) { p.User = "" }, []string{"user"}},
		{"display name as user", func(p *Profile) { p.User = "Service Deputy" }, []string{"user"}},
		{"forward slash", func(p *Profile) { p.User = "CONTOSO/svc" }, []string{"user"}},
		{"empty domain", func(p *Profile) { p.User = `\svc` }, []string{"user"}},
		{"bad mailbox and duplicate", func(p *Profile) { p.Mailboxes = []string{"a@contoso.com", "b.contoso.com", "A@contoso.com"} },
			[]string{"mailboxes[1]", "mailboxes[2]"}},
		{"bad room", func(p *Profile) { p.Rooms = []string{"room 1@contoso.com"} }, []string{"rooms[0]"}},
		{"concurrency negative", func(p *Profile) { p.Concurrency = -1 }, []string{"concurrency"}},
		{"graph on-prem", func(p *Profile) { p.Protocol = "graph" }, []string{"protocol"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := validOnPrem()
			tc.edit(&p)
			err := p.Validate()
			var got []string
			for _, fe := range FieldErrors(err) {
				got = append(got, fe.Field)
				if fe.Message == "" {
					t.Errorf("field %s: empty message", fe.Field)
				}
			}
			if !reflect.DeepEqual(got, tc.fields) {
				t.Fatalf("fields = %v, want %v (err: %v)", got, tc.fields, err)
			}
			if (err == nil) != (len(tc.fields) == 0) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestValidateMessagesAreSpecific(t *testing.T) {
	p := validOnPrem()
	p.Mailboxes = []string{"bob.contoso.com"}
	p.Concurrency = 40
	p.EWSURL = "http://mail.contoso.com/EWS/Exchange.asmx"
	msg := p.Validate().Error()
	for _, want := range []string{`mailboxes[0]: "bob.contoso.com": missing @`, "concurrency: 40 is out of range: use 1 to 27", "ewsUrl: use https://"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

func TestNormalizePin(t *testing.T) {
	const hexPin = "3b7f0c6f1d2e4a5b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d"
	colon := strings.ToUpper(regexp.MustCompile("(..)").ReplaceAllString(hexPin, "$1:"))
	colon = strings.TrimSuffix(colon, ":")
	for _, in := range []string{hexPin, strings.ToUpper(hexPin), colon, "SHA256 Fingerprint=" + colon, "sha256:" + hexPin, " " + strings.ReplaceAll(colon, ":", " ") + " "} {
		got, err := NormalizePin(in)
		if err != nil || got != hexPin {
			t.Errorf("NormalizePin(%q) = %q, %v", in, got, err)
		}
	}
	for in, want := range map[string]string{
		strings.Repeat("a", 40):       "SHA-1 thumbprint",
		"abc":                         "64 hex digits, this has 3",
		strings.Repeat("g", 64):       "only hex digits",
		"SHA256 Fingerprint=" + "abc": "this has 3",
	} {
		if _, err := NormalizePin(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NormalizePin(%q) = %v, want %q", in, err, want)
		}
	}
}

// A profile file must never hold a secret: no field may be named like one, and a fully
// populated profile's JSON has no such key.
func TestProfileHasNoSecretFields(t *testing.T) {
	secretish := regexp.MustCompile(`(?i)pass|secret|token|pwd|credential|private|apikey|cookie`)
	var walk func(ty reflect.Type, path string)
	walk = func(ty reflect.Type, path string) {
		for i := 0; i < ty.NumField(); i++ {
			f := ty.Field(i)
			tag := f.Tag.Get("json")
			if secretish.MatchString(f.Name) || secretish.MatchString(tag) {
				t.Errorf("field %s%s (json %q) looks like a secret", path, f.Name, tag)
			}
			if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == ty.PkgPath() {
				walk(f.Type, path+f.Name+".")
			}
		}
	}
	walk(reflect.TypeOf(Profile{}), "")

	p := validOnPrem()
	p.Tenant, p.ClientID, p.CertFile, p.Cloud, p.Protocol, p.Notes = "t", "c", "/x.pfx", "global", "both", "n"
	p.UseAutodiscover, p.WriteTest, p.TLS.CAFile = true, true, "/ca.pem"
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	var keys func(v any)
	keys = func(v any) {
		if mm, ok := v.(map[string]any); ok {
			for k, v := range mm {
				if secretish.MatchString(k) {
					t.Errorf("JSON key %q looks like a secret", k)
				}
				keys(v)
			}
		}
	}
	keys(m)
	if m["schemaVersion"] != float64(1) {
		t.Errorf("schemaVersion = %v", m["schemaVersion"])
	}
}

func TestSecretKindFollowsAuth(t *testing.T) {
	for auth, kind := range map[string]string{AuthBasic: secret.Password, AuthNTLM: secret.Password,
		AuthOAuthSecret: secret.ClientSecret, AuthOAuthCert: secret.CertKey, AuthOAuthDelegated: secret.TokenCache, "": ""} {
		p := Profile{ID: "abc", Auth: auth}
		if got := p.SecretKind(); got != kind {
			t.Errorf("SecretKind(%q) = %q, want %q", auth, got, kind)
		}
		if kind != "" && p.Key(kind) != (secret.Key{Profile: "abc", Kind: kind}) {
			t.Errorf("Key(%q) = %+v", kind, p.Key(kind))
		}
	}
}

func TestURLAndResult(t *testing.T) {
	p := Profile{Name: "X", Environment: EXO, Auth: AuthOAuthSecret, Tenant: "t", ClientID: "c"}
	if p.URL() != EXOURL || p.Result().EWSURL != EXOURL || p.Result().TenantID != "t" {
		t.Fatalf("exo default URL not applied: %+v", p.Result())
	}
	p = validOnPrem()
	if r := p.Result(); r.EWSURL != p.EWSURL || r.ServiceAccount != p.User || r.Name != p.Name {
		t.Fatalf("Result() = %+v", r)
	}
}

func TestAutodiscoverAddress(t *testing.T) {
	cases := []struct {
		name, mailbox, user, want string
	}{
		{"service mailbox first", "svc-mbx@contoso.com", "svc@contoso.com", "svc-mbx@contoso.com"},
		{"UPN without a mailbox", "", "svc@contoso.com", "svc@contoso.com"},
		{"spaces trimmed", "  svc-mbx@contoso.com ", "", "svc-mbx@contoso.com"},
		{"blank mailbox falls back to the UPN", "   ", " svc@contoso.com ", "svc@contoso.com"},
		{"DOMAIN\\user is no address", "", `CONTOSO\svc`, ""},
		{"mailbox with a DOMAIN\\user", "svc@contoso.com", `CONTOSO\svc`, "svc@contoso.com"},
		{"nothing", "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := AutodiscoverAddress(c.mailbox, c.user); got != c.want {
				t.Errorf("AutodiscoverAddress(%q, %q) = %q, want %q", c.mailbox, c.user, got, c.want)
			}
		})
	}
}
