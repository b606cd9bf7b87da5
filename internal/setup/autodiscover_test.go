package setup

import (
	"strings"
	"testing"

	"deputy/internal/result"
)

func TestAutodiscoverRemediation(t *testing.T) {
	onprem := Situation{Environment: result.OnPrem, Account: "svc-ews@contoso.com"}
	exo := Situation{Environment: result.EXO, AppID: "11111111-2222-3333-4444-555555555555"}
	fail := func(code string, mods ...func(*AutodiscoverFailure)) AutodiscoverFailure {
		f := AutodiscoverFailure{Class: result.Other, Code: code, Address: "mara@contoso.com", Auth: "ntlm"}
		for _, m := range mods {
			m(&f)
		}
		return f
	}
	tests := []struct {
		name  string
		f     AutodiscoverFailure
		s     Situation
		want  []string
		avoid []string
	}{
		{"not found", fail("not-found"), onprem,
			[]string{"No Autodiscover endpoint answered for mara@contoso.com", "deputy-cli profile edit <profile> --url <EWS URL>", "autodiscover.contoso.com (A or CNAME)",
				"Resolve-DnsName -Name 'autodiscover.contoso.com'", "Resolve-DnsName -Name '_autodiscover._tcp.contoso.com' -Type SRV", "Get-WebServicesVirtualDirectory"},
			[]string{"--trust-redirect"}},
		{"not found, credentials refused", fail("not-found", func(f *AutodiscoverFailure) { f.Class = result.AuthFailed }), onprem,
			[]string{"refused the credentials", "locked out", "Get-AutodiscoverVirtualDirectory | Format-List Server,InternalUrl,*Authentication*", "--url"}, nil},
		{"not found, Exchange Online", fail("not-found"), exo,
			[]string{"https://outlook.office365.com/EWS/Exchange.asmx", "--url"}, []string{"Get-WebServicesVirtualDirectory"}},
		{"redirect refused", fail("redirect-refused", func(f *AutodiscoverFailure) { f.Host = "autodiscover.hoster.example" }), onprem,
			[]string{"redirects to autodiscover.hoster.example, outside contoso.com", "autodiscover-s.outlook.com", "do not trust it",
				"deputy-cli autodiscover 'mara@contoso.com' --user 'svc-ews@contoso.com' --auth ntlm --trust-redirect 'autodiscover.hoster.example'", "DEPUTY_PASSWORD"}, nil},
		{"redirect refused, basic", fail("redirect-refused", func(f *AutodiscoverFailure) { f.Host, f.Auth = "h.example", "basic" }), onprem,
			[]string{"--user 'svc-ews@contoso.com' --trust-redirect 'h.example'"}, []string{"--auth"}},
		{"redirect loop", fail("redirect-loop"), onprem, []string{"lead back", "Get-ClientAccessService | Format-List Name,AutoDiscoverServiceInternalUri", "--url"}, nil},
		{"too many redirects", fail("too-many-redirects"), onprem, []string{"more than 10 hops"}, nil},
		{"invalid input", fail("invalid-input", func(f *AutodiscoverFailure) { f.Address = "mara" }), onprem, []string{"full e-mail address", "mara is not one"}, []string{"Resolve-DnsName"}},
		{"unusable url", fail("unusable-url"), onprem, []string{"plain-http", "Get-WebServicesVirtualDirectory"}, nil},
		{"url in the profile", fail("not-found", func(f *AutodiscoverFailure) { f.URLConfigured = true }), onprem,
			[]string{"keep using the EWS URL the profile holds"}, []string{"profile edit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AutodiscoverRemediation(tt.f, tt.s)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			for _, a := range tt.avoid {
				if strings.Contains(got, a) {
					t.Errorf("must not contain %q:\n%s", a, got)
				}
			}
			if _, _, err := psScan(commandsOf(got)); err != nil {
				t.Errorf("commands do not lex: %v\n%s", err, got)
			}
		})
	}
	if got := AutodiscoverRemediation(AutodiscoverFailure{Address: "mara@contoso.com"}, onprem); got != "" {
		t.Errorf("no failure code, yet a fix: %q", got)
	}
}

// Hostile addresses, hosts and accounts stay inside their literals, and cannot break the
// prose into lines.
func TestAutodiscoverRemediationHostile(t *testing.T) {
	for _, h := range hostile {
		for _, code := range []string{"not-found", "redirect-refused", "redirect-loop", "too-many-redirects", "invalid-input", "unusable-url"} {
			for _, env := range []string{result.OnPrem, result.EXO} {
				f := AutodiscoverFailure{Class: result.Other, Code: code, Address: h.value + "@" + h.value, Host: h.value, Auth: "ntlm"}
				got := AutodiscoverRemediation(f, Situation{Environment: env, Account: h.value})
				assertInert(t, code+"/"+env, commandsOf(got))
				if prose, _, _ := strings.Cut(got, "\n\n"); strings.ContainsAny(prose, "\n\r\x00\u2028") {
					t.Errorf("%s/%s: a value broke the prose: %q", code, env, prose)
				}
			}
		}
	}
}
