package apiclient

import "testing"

func TestLogBodyRedaction(t *testing.T) {
	tests := []struct {
		name, contentType, body, want string
	}{
		{"form", "application/x-www-form-urlencoded", "username=root%40pam&password=hunter2&otp=123456",
			"otp=***&password=***&username=root%40pam"},
		{"json nested", "application/json;charset=UTF-8",
			`{"data":{"ticket":"PVE:x","CSRFPreventionToken":"abc","cap":{"vms":{"VM.Audit":1}},"list":[{"cipassword":"x","n":1}]}}`,
			`{"data":{"ticket":"***","CSRFPreventionToken":"***","cap":{"vms":{"VM.Audit":1}},"list":[{"cipassword":"***","n":1}]}}`},
		{"secret object and array values", "application/json",
			`{"a":[1,2.5,true,null,"x"],"private-key":{"k":[1,{"x":"y"}]},"token":["t1","t2"],"z":{}}`,
			`{"a":[1,2.5,true,null,"x"],"private-key":"***","token":"***","z":{}}`},
		{"malformed json", "application/json", `{"a":`, "(5 bytes of malformed JSON not shown)"},
		{"known secret anywhere", "text/plain", "hello s3cr3t world", "hello *** world"},
		{"empty", "application/json", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := logBody{contentType: tt.contentType, data: []byte(tt.body), secrets: []string{"s3cr3t", ""}}
			if got := b.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if got := (logBody{streamed: true}).String(); got != "(streamed body not shown)" {
		t.Errorf("streamed: got %q", got)
	}
}

func TestSensitiveKey(t *testing.T) {
	for k, want := range map[string]bool{
		"password": true, "ticket": true, "CSRFPreventionToken": true, "secret-key": true, "access-key": true,
		"key": true, "keyfile": true, "master-key": true, "private-key": true, "tfa-challenge": true,
		"keep-last": false, "otp": true, "cipassword": true, "encryption-key": true, "name": false, "comment": false, "fingerprint": false, "digest": false, "keep-daily": false,
	} {
		if SensitiveKey(k) != want {
			t.Errorf("SensitiveKey(%q) = %v, want %v", k, !want, want)
		}
	}
}
