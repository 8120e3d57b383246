// On a lead (/crm/leads/<name>): add it to a Campaign, see its Email Campaigns. A form
// controller class, which Frappe CRM sets up once the lead and its scripts are loaded; its
// helpers (call, createDialog, toast) are the instance's. Other scripts' actions are kept.
class CRMLead {
	onRender() {
		const helpers = { call: this.call, $dialog: this.createDialog, toast: this.toast };
		const ours = [
			{
				label: __("Add to Email Campaign"),
				emailCampaignApp: true,
				onClick: () => emailCampaignApp.addToEmailCampaign({ names: [this.doc.name], ...helpers }),
			},
			{
				label: __("Email Campaigns"),
				emailCampaignApp: true,
				onClick: () => emailCampaignApp.showEmailCampaigns({ doc: this.doc, ...helpers }),
			},
		];
		this.actions = [...(this.actions || []).filter((action) => !action.emailCampaignApp), ...ours];
	}
}
