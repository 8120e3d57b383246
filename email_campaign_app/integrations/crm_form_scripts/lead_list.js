// In the leads list (/crm/leads): the selected leads' bulk action.
function setupList({ list }) {
	return {
		bulk_actions: [
			{
				label: __("Add to Email Campaign"),
				onClick: ({ selections, unselectAll, call, toast, $dialog }) =>
					emailCampaignApp.addToEmailCampaign({
						names: Array.from(selections),
						call,
						$dialog,
						toast,
						done: () => {
							unselectAll();
							list.reload();
						},
					}),
			},
		],
	};
}
