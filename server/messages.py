"""Every message a user can see, by key. Tests refer to them by key too."""

MESSAGES: dict[str, str] = {
    # page titles
    "page.signin": "Sign in",
    "page.setup": "Create the first account",
    "page.two_factor": "Two-factor authentication",
    # sign-in
    "signin.invalid": "That username and password do not match. Check both and try again.",
    "signin.missing": "Enter your username and password.",
    "signin.throttled": "Too many failed attempts for this account. Wait {wait}, then try again.",
    "signin.throttled_address": (
        "Too many failed sign-in attempts from this computer or network (others may share it). "
        "Wait {wait}, then try again."
    ),
    "signin.expired": "Your sign-in took too long or was interrupted. Sign in again with your password.",
    "signin.too_many_codes": "Too many wrong codes. Sign in again with your password.",
    "signin.signed_out": "You are signed out.",
    "signin.session_ended": "Your session has ended. Sign in again to continue.",
    "signin.account_created": "Account created. Sign in with your new username and password.",
    "signin.busy": "The sign-in service is busy. Try again in {wait}.",
    # first start
    "setup.invalid_link": "This setup link is invalid or was already used. Use the link printed on the server console.",
    "setup.username": "Choose a username of 1 to 64 letters, digits, dots, dashes or underscores.",
    "setup.password_short": "Choose a password of at least 10 characters.",
    "setup.password_mismatch": "The two passwords do not match.",
    "setup.taken": "That username is already taken.",
    # second factor
    "code.format": "Enter the 6-digit code from your authenticator app.",
    "code.invalid": "That code is not valid. Enter the current 6-digit code from your authenticator app.",
    "code.reused": (
        "This code was already used. Wait for the next code in your app (a new one appears every 30 seconds)."
    ),
    "code.misconfigured": (
        "The service is misconfigured and cannot check codes right now. Contact your administrator."
    ),
    "code.required": (
        "Your administrator requires two-factor authentication for your account, so it cannot be turned off."
    ),
    "code.attempts_left": "Attempts left before you have to sign in again: {left}.",
    "code.busy": "The sign-in service is busy. Try again in {wait}.",
    "code.throttled": "Too many wrong codes. Wait {wait}, then try again.",
    "backup.format": "Enter your 8-character backup code, for example ABCD-EFGH.",
    "backup.invalid": "That backup code is not valid. Check it and try again.",
    "backup.confirm_close": (
        "Close without confirming that you stored the new backup code? It is shown only once, "
        "and your previous code no longer works."
    ),
    "backup.gone": (
        "This backup code can no longer be shown here. If you did not store it, "
        "issue a new one with New Backup Codes on your Profile page."
    ),
    "backup.card_use": (
        "Use it at {issuer} sign-in with Use Backup Code if you lose your authenticator app. It works once; "
        "signing in with it turns two-factor authentication off, so you can set it up again."
    ),
    "backup.card_help": (
        "Lost both your phone and this code? Ask {contact}: they can turn two-factor "
        "authentication off for your account."
    ),
    "signin.lost_both": (
        "Lost both your phone and your backup code? Ask {contact} to turn two-factor authentication off "
        "for your account (with the command run.py user reset-2fa). Then sign in with your password alone "
        "and set it up again."
    ),
    # enrollment
    "enroll.expired": (
        "This setup has expired or was replaced by a newer one. Click Start again for a new QR code, "
        "and delete the earlier {issuer} entry in your authenticator app: it will not work."
    ),
    "enroll.confirm_close": (
        "Close the setup? Two-factor authentication is not on yet. Click Enable again within a few minutes "
        "to continue this setup with the same QR code."
    ),
    "enroll.confirm_stored": 'Store the backup code first, then tick "I have stored this code".',
    "enroll.asks_password": "Start again asks for your password first: your last password confirmation has expired.",
    "enroll.continued": (
        "Continue setup: this is the setup you started before, with the same QR code and secret. "
        "If your app already has the {issuer} entry, click Next."
    ),
    "enroll.replaced": (
        "This is a new QR code. If you added an {issuer} entry to your authenticator app earlier, "
        "delete it: it will not work."
    ),
    "enroll.delete_earlier": (
        "Use the newest {issuer} entry in your app. If your app shows more than one, delete the earlier ones."
    ),
    "enroll.already_on": "Two-factor authentication is already on.",
    "enroll.phone_link": "Add to authenticator on this phone",
    "enroll.phone_hint": (
        "Setting up on the phone that has your authenticator app? A phone cannot scan its own screen: "
        "tap the button below, or type the secret by hand (Manual Entry)."
    ),
    "enroll.secret_characters": (
        "The secret uses only the letters A\u2013Z and the digits 2\u20137 (never 0, 1, 8 or 9). "
        "The spaces are only for reading; leave them out if your app refuses them."
    ),
    "enroll.qr_title": "QR code for {issuer} two-factor setup",
    # Security card
    "card.enabled": "Two-factor authentication is on. Every sign-in now asks for a code from your app.",
    "card.disabled": "Two-factor authentication is off. Sign-in now asks only for your password.",
    "card.check_ok": "Your code is valid: your authenticator app is in sync. Nothing on your account changed.",
    "card.new_backup": "Your new backup code is ready. The previous code no longer works.",
    "card.not_on": "Two-factor authentication is off, so there is nothing to do here.",
    "card.backup_used": (
        "You signed in with your backup code, so two-factor authentication is now off. "
        "Click Enable to set it up again with a fresh QR scan."
    ),
    "card.offer_signout": "Sign out your other sessions too, in case someone else is using them.",
    # the code prompts of the Security card
    "prompt.check.title": "Check 2FA",
    "prompt.check.intro": "Enter a current code from your authenticator app. This is a dry run: nothing on your account changes.",
    "prompt.check.submit": "Check code",
    "prompt.backup.title": "New Backup Codes",
    "prompt.backup.intro": "Enter a current code from your authenticator app. Your previous backup code stops working at once.",
    "prompt.backup.submit": "Issue new backup code",
    "prompt.disable.title": "Disable two-factor authentication",
    "prompt.disable.intro": "Enter a current code from your authenticator app to turn two-factor authentication off.",
    "prompt.disable.submit": "Disable 2FA",
    # security keys
    "key.format": (
        "Confirm with a current 6-digit code from your authenticator app or with one of your security keys, "
        "and touch the key when your browser asks."
    ),
    "key.invalid": "That security key was not accepted: it is not registered to this account, or its answer did not check out.",
    "key.reused": "That code was already used. Wait for the next one in your app.",
    "key.throttled": "Too many failed attempts with codes or security keys. Wait {wait}, then try again.",
    "key.expired": "That security key request expired or was already used. Try again.",
    "key.unavailable": "Security keys are not available on this server.",
    "key.not_on": "That security key is not registered to this account (it may have been removed already).",
    "key.already_on": "Two-factor authentication was turned on meanwhile. Reload the page and try again.",
    "key.cancelled": "The security key did not answer (cancelled or timed out). Try again.",
    "keys.added": "Security key added. At sign-in you can now touch it instead of typing a code.",
    "keys.removed": "Security key removed. It no longer signs in to this account.",
    "keys.confirmed_add": "Password confirmed. Click Add security key again.",
    "keys.confirmed_remove": "Password confirmed. Click Remove again.",
    "keys.first": "Two-factor authentication is on with your security key. Save your backup code now.",
    "keys.unavailable_unset": (
        "Security keys are not available: the administrator has not set the public address of this server (MIROX_PUBLIC_URL)."
    ),
    "keys.unavailable_insecure": (
        "Security keys are not available: browsers allow them only over https (or on localhost), "
        "and this server is reached over plain http."
    ),
    "keys.needs_javascript": "Security keys need JavaScript in your browser. Your authenticator app keeps working without it.",
    # the two-factor policy
    "policy.banner": "Your administrator requires two-factor authentication: set it up by {date}.",
    "policy.banner_link": "Set it up: Profile ▸ Security ▸ Enable",
    "policy.overdue": (
        "Your administrator requires two-factor authentication, and the time to set it up has passed. "
        "Set it up now to continue: until then you can only do that, read the help, or sign out."
    ),
    "policy.due": "Your administrator requires two-factor authentication: set it up by {date}.",
    "policy.card_required": "Your administrator requires two-factor authentication for your account, so Disable is not offered.",
    "policy.backup_used": (
        "You signed in with your backup code, so two-factor authentication is now off. "
        "Your administrator requires it: set it up again now with a fresh QR scan."
    ),
    "policy.reauth": "Click Enable and confirm your password to start.",
    # re-authentication
    "reauth.needed": "For your security, enter your password again to continue.",
    "reauth.for": "To {action}, confirm that you are {user}.",
    # what a password prompt continues, by the name of its fresh route (tests walk the route table)
    "reauth.action.enable_2fa": "turn on two-factor authentication",
    "reauth.action.new_backup_code": "issue a new backup code",
    "reauth.action.new_backup_code_submit": "issue a new backup code",
    "reauth.action.disable_2fa": "turn off two-factor authentication",
    "reauth.action.disable_2fa_submit": "turn off two-factor authentication",
    "reauth.action.sessions_signout_others": "sign out all your other sessions",
    "reauth.action.security_keys": "manage your security keys",
    "reauth.action.key_options": "add a security key",
    "reauth.action.key_add": "add a security key",
    "reauth.action.key_remove": "remove a security key",
    "reauth.invalid": "That password is not correct.",
    # sessions
    "sessions.signed_out_one": "That session is signed out.",
    "sessions.signed_out_others": "All your other sessions are signed out.",
    "sessions.none_other": "There are no other sessions to sign out.",
    "sessions.not_found": "That session has already ended.",
    # remembered browsers
    "browsers.forgotten_one": "That browser is forgotten: it signs in like a new browser from now on.",
    "browsers.forgotten_this": "This browser is forgotten: it signs in like a new browser from now on.",
    "browsers.forgotten_others": "All other browsers are forgotten.",
    "browsers.none_other": "There are no other remembered browsers to forget.",
    "browsers.not_found": "That browser is not remembered (any more).",
    # change password
    "password.current_wrong": "Your current password is not correct.",
    "password.is_username": "Choose a password that is not your username.",
    "password.common": "That password is one of the most commonly used ones. Choose another.",
    "password.too_long": "Choose a password of at most 1024 characters.",
    "password.changed": "Your password is changed. Your other sessions are signed out.",
    # security notices
    "notice.failures": "Since your last sign-in: {summary}, the last from {ip} at {time}.",
    "notice.count.password": "{count} wrong password",
    "notice.count.passwords": "{count} wrong passwords",
    "notice.count.code": "{count} wrong code",
    "notice.count.codes": "{count} wrong codes",
    "notice.count.refused": "{count} attempt refused after too many failures",
    "notice.count.refuseds": "{count} attempts refused after too many failures",
    "notice.backup_used": "Two-factor authentication was turned off by your backup code ({time}).",
    "notice.reset_by_admin": "Two-factor authentication was turned off by an administrator ({time}).",
    "notice.new_backup": "A new backup code was issued ({time}).",
    "notice.new_device": "Signed in from a new device or browser: {device}, {ip} ({time}).",
    "notice.password_changed": "Your password was changed ({time}).",
    "notice.password_set_by_admin": "Your password was set by an administrator ({time}).",
    "notice.acknowledged": "Thank you. Those notices are dismissed.",
    "notice.disowned": (
        "Every other session of your account is signed out, and your administrator can see that you reported this. "
        "What to do next: change your password now, and ask your administrator to check your account."
    ),
    # errors
    "error.csrf": "This form is no longer valid, for example because the page was open for a long time. Reload the page and try again.",
    "error.bad_request": "The request could not be read. Reload the page and try again.",
    "error.not_found": "There is no page at this address.",
    "error.method": "This address does not accept that kind of request.",
    "error.too_large": "The request was too large.",
    "error.unavailable": "The account service cannot reach its database right now. Try again in a minute.",
    "error.request_timeout": "The request did not arrive in time. Check your connection and try again.",
    "error.deadline": "The account service took too long to answer. Try again in a minute.",
    "forward.outside_group": "You are signed in as {user}, but this app is only for members of {groups}. "
    "Ask your administrator to add you, or sign out and sign in as someone who is a member.",
    "forward.bad_redirect": "The proxy asks /auth/verify with a wrong address: redirect= may only be yes.",
    "forward.setup_overdue": "Your administrator requires two-factor authentication: set it up to continue.",
    "error.request_title": "The request did not go through",
    "error.network": (
        "The account service could not be reached. Check your network connection and try again. "
        "Your last action may not have been carried out: look at the page before you repeat it."
    ),
    "error.foreign": (
        "Something between your browser and the account service answered instead of it (status {status}). "
        "Try again in a minute; if it keeps happening, tell your administrator."
    ),
    "error.server": "Something went wrong on our side. Try again; if it keeps happening, tell your administrator.",
}

EVENTS: dict[str, str] = {
    "signin": "Signed in",
    "signin.failed_password": "Wrong password at sign-in",
    "signin.throttled": "Sign-in refused after too many failed attempts",
    "signin.failed_code": "Wrong two-factor code at sign-in",
    "signin.failed_backup": "Wrong backup code at sign-in",
    "2fa.enabled": "Two-factor authentication enabled",
    "2fa.disabled": "Two-factor authentication disabled",
    "2fa.backup_used": "Backup code used (two-factor authentication turned off)",
    "2fa.new_backup": "New backup code issued",
    "2fa.check_failed": "Wrong code in Check 2FA",
    "2fa.action_failed": "Wrong code when changing two-factor settings",
    "2fa.reset_by_admin": "Two-factor authentication reset by an administrator",
    "sessions.signed_out_others": "Other sessions signed out",
    "2fa.throttled": "Two-factor code refused after too many wrong codes",
    "reauth": "Password confirmed for a sensitive action",
    "admin.user_add": "Account created by an administrator",
    "admin.user_disable": "Account disabled by an administrator",
    "admin.set_password": "Password set by an administrator",
    "notice.disowned": "Reported a security notice as not you (other sessions signed out)",
    "admin.clear_flag": "Report cleared by an administrator",
    "password.changed": "Password changed",
    "policy.applied": "Two-factor authentication now required by your administrator",
    "policy.met": "Two-factor requirement met",
    "policy.lifted": "Two-factor authentication no longer required by your administrator",
    "admin.group_add": "Added to a group by an administrator",
    "admin.group_remove": "Removed from a group by an administrator",
    "admin.user_enable": "Account enabled by an administrator",
    "admin.user_unlock": "Failed-attempt delays cleared by an administrator",
    "admin.user_signout": "Signed out everywhere by an administrator",
    "devices.forgotten": "Browsers that signed in before are no longer remembered",
    "device.forgotten": "Remembered browser forgotten",
    "key.added": "Security key added",
    "key.removed": "Security key removed",
    "key.failed": "Security key refused",
    "key.add_failed": "Security key could not be added",
    "key.counter_regressed": "Security key refused: its counter went back (a copied key?)",
}


def duration(seconds: int) -> str:
    """A wait as people say it: "1 second", "45 seconds", and whole minutes (rounded up) from 2 minutes on."""
    if seconds >= 120:
        return f"{-(-seconds // 60)} minutes"
    return "1 second" if seconds == 1 else f"{seconds} seconds"


def message(key: str, **params: object) -> str:
    """The text for ``key``, with ``{placeholders}`` filled in; ``seconds=`` fills ``{wait}`` in words."""
    seconds = params.get("seconds")
    if isinstance(seconds, int):  # templates pass it for every error, most have no wait
        params["wait"] = duration(seconds)
    return MESSAGES[key].format(**params) if params else MESSAGES[key]
