// Package profile is Deputy's saved configurations — one JSON file per profile under
// os.UserConfigDir()/Deputy/, shared by the window and deputy-cli — and the import of
// mailbox lists as admins export them (Get-Mailbox | Export-Csv, Excel, bare lists).
//
// Profiles never hold secrets: passwords, client secrets and keys live in the OS keychain
// (package secret), keyed by the profile's stable ID, not its display name, so renaming a
// profile keeps its secrets.
package profile
