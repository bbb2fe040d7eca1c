//! What the audit log records: every action by its stable code — the text stored in the data file
//! and used by the filters, so a code never changes — and its words for people.

coded_enum! {
    /// An action the audit log records.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    AuditAction {
        WorkspaceApplicationSubmitted => "workspace_application.submitted", "Application submitted";
        WorkspaceApplicationWithdrawn => "workspace_application.withdrawn", "Application withdrawn";
        WorkspaceApplicationRejected => "workspace_application.rejected", "Application rejected";
        WorkspaceGenerated => "workspace.generated", "Workspace generated";
        WorkspaceInfoEdited => "workspace.info_edited", "Information edited";
        WorkspaceChangeRequested => "workspace.change_requested", "Change requested";
        WorkspaceSuspended => "workspace.suspended", "Workspace suspended";
        WorkspaceReactivated => "workspace.reactivated", "Workspace reactivated";
        WorkspaceSignInPolicyChanged => "workspace.sign_in_policy_changed", "Sign-in requirement changed";
        MemberInvited => "member.invited", "Member invited";
        MemberInvitationResent => "member.invitation_resent", "Invitation resent";
        MemberInvitationRevoked => "member.invitation_revoked", "Invitation revoked";
        MemberJoined => "member.joined", "Member joined";
        MemberAdmitted => "member.admitted", "Member admitted";
        MemberAdmissionRevoked => "member.admission_revoked", "Admission revoked";
        MemberRoleChanged => "member.role_changed", "Role changed";
        MemberBlocked => "member.blocked", "Member blocked";
        MemberUnblocked => "member.unblocked", "Member unblocked";
        MemberRemoved => "member.removed", "Member removed";
        MemberLeft => "member.left", "Member left";
        AppCreated => "app.created", "App added";
        AppKeyCreated => "app.key_created", "Key created";
        AppKeyRotated => "app.key_rotated", "Key rotated";
        AppKeyRevoked => "app.key_revoked", "Key revoked";
        AppUploadScopeChanged => "app.upload_scope_changed", "Upload Key scope changed";
        AppTestDevicesChanged => "app.test_devices_changed", "Test devices changed";
        MiniProgramCreated => "mini_program.created", "Mini program created";
        MiniProgramEdited => "mini_program.edited", "Mini program edited";
        MiniProgramAssigned => "mini_program.assigned", "Member assigned";
        MiniProgramUnassigned => "mini_program.unassigned", "Member unassigned";
        MiniProgramVersionUploaded => "mini_program.version_uploaded", "Version uploaded";
        MiniProgramVersionRetired => "mini_program.version_retired", "Version retired";
        MiniProgramReleased => "mini_program.released", "Version released";
        MiniProgramRemoved => "mini_program.removed", "Mini program removed";
        MiniProgramFeatureActivated => "mini_program.feature_activated", "Feature activated";
        ReleaseRaised => "release.raised", "Rollout raised";
        ReleasePaused => "release.paused", "Rollout paused";
        ReleaseResumed => "release.resumed", "Rollout resumed";
        ReleaseCompleted => "release.completed", "Rollout completed";
        ReleaseAborted => "release.aborted", "Rollout aborted";
        ReleaseRolledBack => "release.rolled_back", "Rolled back";
        ReleaseHealthRuleChanged => "release.health_rule_changed", "Health rule changed";
        ApprovalApplied => "approval.applied", "Applied for review";
        ApprovalWithdrawn => "approval.withdrawn", "Application withdrawn";
        ApprovalApproved => "approval.approved", "Application approved";
        ApprovalRejected => "approval.rejected", "Application rejected";
        AccountSignedUp => "account.signed_up", "Account created";
        AccountSignedIn => "account.signed_in", "Signed in";
        AccountSignInFailed => "account.sign_in_failed", "Failed sign-in";
        AccountSignedOut => "account.signed_out", "Signed out";
        AccountPasswordChanged => "account.password_changed", "Password changed";
        AccountPasswordResetRequested => "account.password_reset_requested", "Password reset requested";
        AccountPasswordReset => "account.password_reset", "Password reset";
        AccountEmailVerified => "account.email_verified", "Email address verified";
        AccountEmailChangeRequested => "account.email_change_requested", "Email change requested";
        AccountEmailChanged => "account.email_changed", "Email address changed";
        AccountSessionRevoked => "account.session_revoked", "Session signed out";
        AccountMarkedVerified => "account.marked_verified", "Email marked verified by the operator";
        AccountSecondFactorEnabled => "account.second_factor_enabled", "Two-factor authentication turned on";
        AccountSecondFactorDisabled => "account.second_factor_disabled", "Two-factor authentication turned off";
        AccountSecondFactorReset => "account.second_factor_reset", "Two-factor authentication reset by the operator";
        AccountSecondFactorFailed => "account.second_factor_failed", "Wrong authentication code";
        AccountTokenCreated => "account.token_created", "Access token created";
        AccountTokenRevoked => "account.token_revoked", "Access token revoked";
        AccountPasskeyAdded => "account.passkey_added", "Passkey added";
        AccountPasskeyRemoved => "account.passkey_removed", "Passkey deleted";
        SsoProviderSaved => "sso.provider_saved", "Single sign-on provider saved";
        SsoProviderDeleted => "sso.provider_deleted", "Single sign-on provider deleted";
        WorkspaceSingleSignOnChanged => "workspace.single_sign_on_changed", "Single sign-on changed";
        WebhookEndpointAdded => "webhook.endpoint_added", "Webhook endpoint added";
        WebhookEndpointChanged => "webhook.endpoint_changed", "Webhook endpoint changed";
        WebhookEndpointDeleted => "webhook.endpoint_deleted", "Webhook endpoint deleted";
        WebhookTestSent => "webhook.test_sent", "Webhook test event sent";
        WebhookDeliveryResent => "webhook.delivery_resent", "Webhook delivery re-sent";
    }
}

impl AuditAction {
    /// An action on a person's own account (shown on the account page, not in a workspace's log).
    pub fn is_account(self) -> bool {
        self.code().starts_with("account.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_distinct_and_parses_back() {
        let mut codes = std::collections::HashSet::new();
        for a in AuditAction::ALL {
            assert!(codes.insert(a.code()), "{} twice", a.code());
            assert_eq!(AuditAction::parse(a.code()), Some(*a));
            assert!(!a.label().is_empty());
        }
        assert_eq!(AuditAction::parse("no.such"), None);
        // Stored codes never change: a few pinned here.
        assert_eq!(AuditAction::MemberBlocked.code(), "member.blocked");
        assert_eq!(AuditAction::AccountSignInFailed.code(), "account.sign_in_failed");
        assert_eq!(AuditAction::WorkspaceApplicationSubmitted.code(), "workspace_application.submitted");
    }
}
