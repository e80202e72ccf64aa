package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// A pbs storage's encryption key lives in /etc/pve/priv/storage/<id>.enc.
// PVE deletes that file when the storage is deleted (on_delete_hook) or its
// key removed or replaced, and writes a new one for "autogen". A key PVE
// generated exists nowhere else but in generated_encryption_key: losing it
// makes every backup encrypted with it unrestorable. So destroying the
// storage, replacing it, or changing or removing its key, while the key is
// one the provider generated, is a plan-time error unless
// allow_encryption_key_loss is set, and the plan says what is at stake.
//
// A replacement that keeps the storage ID sends the generated key back
// instead of generating a new one: Terraform deletes the old storage and
// creates the new one in the same provider process, and the delete hands
// the key to the create (replacedKeys). If the create fails after the
// delete, the key survives only in a copy the user kept, which is what the
// opt-in acknowledges.

// replacedKeys holds generated keys of storages deleted in this process, by
// "<endpoint>|<storage ID>", for the create of their replacement.
var replacedKeys sync.Map

// ModifyPlan guards a generated encryption key; see above.
func (r *pbsResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() {
		return
	}
	var state pbsModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	generated := state.GeneratedEncryptionKey.ValueString() != ""
	id := state.StorageID.ValueString()
	lost := fmt.Sprintf("PVE deletes the key from the nodes (/etc/pve/priv/storage/%s.enc) and the provider drops "+
		"generated_encryption_key from the state: every backup encrypted with it (key fingerprint %s) can then only be "+
		"restored with a copy of that key you kept (e.g. terraform state show, before this apply).",
		id, state.KeyFingerprint.ValueString())
	refuse := func(at path.Path, summary, what string) {
		resp.Diagnostics.AddAttributeError(at, summary,
			fmt.Sprintf("%s PBS storage %s loses the encryption key the provider generated for it: %s To go ahead, "+
				"set allow_encryption_key_loss = true (and apply that first, to destroy).", what, id, lost))
	}
	if req.Plan.Raw.IsNull() {
		if !generated {
			return
		}
		if !state.AllowKeyLoss.ValueBool() {
			refuse(path.Root("allow_encryption_key_loss"), "Destroying the Storage Loses Its Encryption Key", "Destroying")
			return
		}
		resp.Diagnostics.AddWarning("Encryption Key Will Be Lost", fmt.Sprintf("Destroying PBS storage %s: %s", id, lost))
		return
	}
	var plan pbsModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	keyChanges := !plan.EncryptionKeyVersion.Equal(state.EncryptionKeyVersion)
	if keyChanges {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("generated_encryption_key"), types.StringUnknown())...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("encryption_key_fingerprint"), types.StringUnknown())...)
	}
	if !generated {
		return
	}
	replaced := !plan.StorageID.Equal(state.StorageID) || !plan.Server.Equal(state.Server) || !plan.Datastore.Equal(state.Datastore)
	switch {
	case keyChanges && !plan.AllowKeyLoss.ValueBool():
		refuse(path.Root("encryption_key_version"), "Changing the Key Loses the Generated One", "Changing the encryption key of")
	case keyChanges:
		resp.Diagnostics.AddWarning("Encryption Key Will Be Lost",
			fmt.Sprintf("Changing the encryption key of PBS storage %s: %s", id, lost))
	case replaced && !plan.AllowKeyLoss.ValueBool():
		refuse(path.Root("allow_encryption_key_loss"), "Replacing the Storage Risks Its Encryption Key", "Replacing")
	case replaced && plan.StorageID.Equal(state.StorageID):
		resp.Diagnostics.AddWarning("Encryption Key Sent Back to the Replacement",
			fmt.Sprintf("PBS storage %s is deleted and created again; the new one gets the generated key back. If the "+
				"create fails after the delete, %s", id, lost))
	case replaced:
		resp.Diagnostics.AddWarning("Encryption Key Will Be Lost",
			fmt.Sprintf("PBS storage %s is replaced by %s, which gets a new key: %s", id, plan.StorageID.ValueString(), lost))
	}
}

// stashReplacedKey keeps the generated key of a storage being deleted for
// the create of its replacement in this process.
func stashReplacedKey(endpoint string, m *pbsModel) {
	if k := m.GeneratedEncryptionKey.ValueString(); k != "" {
		replacedKeys.Store(endpoint+"|"+m.StorageID.ValueString(), k)
	}
}

// takeReplacedKey returns the generated key a delete in this process left
// for storage id, once.
func takeReplacedKey(endpoint, id string) (string, bool) {
	v, ok := replacedKeys.LoadAndDelete(endpoint + "|" + id)
	if !ok {
		return "", false
	}
	return v.(string), true
}

// UpgradeState moves states of schema version 0, which stored password and
// encryption_key, to version 1, where they are write-only: both are
// dropped from the state (they stay in the configuration), and the new
// attributes start null.
func (r *pbsResource) UpgradeState(context.Context) map[int64]resource.StateUpgrader {
	return map[int64]resource.StateUpgrader{
		0: {StateUpgrader: func(ctx context.Context, req resource.UpgradeStateRequest, resp *resource.UpgradeStateResponse) {
			var old map[string]json.RawMessage
			if err := json.Unmarshal(req.RawState.JSON, &old); err != nil {
				resp.Diagnostics.AddError("Unable to Upgrade PBS Storage State", err.Error())
				return
			}
			delete(old, "password")
			delete(old, "encryption_key")
			for _, k := range []string{"password", "password_version", "encryption_key", "encryption_key_version",
				"encryption_key_fingerprint", "allow_encryption_key_loss"} {
				old[k] = json.RawMessage("null")
			}
			data, err := json.Marshal(old)
			if err != nil {
				resp.Diagnostics.AddError("Unable to Upgrade PBS Storage State", err.Error())
				return
			}
			var sch resource.SchemaResponse
			r.Schema(ctx, resource.SchemaRequest{}, &sch)
			typ := sch.Schema.Type().TerraformType(ctx)
			val, err := (&tfprotov6.RawState{JSON: data}).UnmarshalWithOpts(typ, tfprotov6.UnmarshalOpts{})
			if err != nil {
				resp.Diagnostics.AddError("Unable to Upgrade PBS Storage State", err.Error())
				return
			}
			dv, err := tfprotov6.NewDynamicValue(typ, val)
			if err != nil {
				resp.Diagnostics.AddError("Unable to Upgrade PBS Storage State", err.Error())
				return
			}
			resp.DynamicValue = &dv
		}},
	}
}
