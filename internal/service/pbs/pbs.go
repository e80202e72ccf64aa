// Package pbs holds the Proxmox Backup Server types: datastores, prune
// jobs and namespaces, managed through the provider's pbs {} block.
package pbs

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/proxmoxtime"
)

// Resources returns the resources of the pbs service.
func Resources() []func() resource.Resource {
	return []func() resource.Resource{NewDatastoreResource, NewPruneJobResource, NewNamespaceResource}
}

// DataSources returns the data sources of the pbs service.
func DataSources() []func() datasource.DataSource {
	return nil
}

// calendarEvent checks a schedule as PBS does (proxmox-time's
// verify_calendar_event), so that a typo fails the plan, not the apply.
var calendarEvent = framework.StringCheck("a PBS calendar event", proxmoxtime.VerifyCalendarEvent)
