// On a lead (/crm/leads/<name>): add it to a Campaign, see its Email Campaigns.
function setupForm({ doc, $dialog, call, toast }) {
	return {
		actions: [
			{
				label: __("Add to Email Campaign"),
				onClick: () => emailCampaignApp.addToEmailCampaign({ names: [doc.name], call, $dialog, toast }),
			},
			{
				label: __("Email Campaigns"),
				onClick: () => emailCampaignApp.showEmailCampaigns({ doc, call, $dialog, toast }),
			},
		],
	};
}
