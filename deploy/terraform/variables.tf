variable "auth0_domain" {
  description = "The tenant's canonical domain, e.g. example.us.auth0.com (not a custom domain): it becomes the Action's AUTH0_DOMAIN secret and the Management API audience https://<domain>/api/v2/."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+$", var.auth0_domain))
    error_message = "Give the bare tenant domain, e.g. example.us.auth0.com (no https://, no path)."
  }
}

variable "tokenseal_keys" {
  description = "TOKENSEAL_KEYS: the JWK Set of 256-bit oct keys; the first key seals, every key opens."
  type        = string
  sensitive   = true

  validation {
    condition     = can(jsondecode(var.tokenseal_keys).keys[0].k)
    error_message = "TOKENSEAL_KEYS must be a JWK Set: {\"keys\":[{\"kty\":\"oct\",\"kid\":...,\"k\":...}]}."
  }
}

variable "claim_namespace" {
  description = "TOKENSEAL_CLAIM_NAMESPACE (optional): an http(s) URL not on auth0.com, webtask.io or webtask.run; adds the <namespace>google_offline_access ID token claim."
  type        = string
  default     = null
}

variable "capture_providers" {
  description = "TOKENSEAL_PROVIDERS (optional): the providers whose refresh tokens the Action seals, comma-separated keys (google-oauth2, waad, bitbucket, or a custom OAuth 2.0 connection's name); unset means google-oauth2. (Terraform reserves the name \"providers\".)"
  type        = string
  default     = null

  validation {
    condition     = can(regex("^ *[A-Za-z0-9-]+ *( *, *[A-Za-z0-9-]+ *)*$", coalesce(var.capture_providers, "google-oauth2")))
    error_message = "capture_providers must be comma-separated provider keys (or null)."
  }
}

variable "fetch" {
  description = "TOKENSEAL_FETCH (optional): \"always\" reads the user through the Management API on every Google login; unset or \"auto\" reads only when a login can carry a new token."
  type        = string
  default     = null

  validation {
    condition     = contains(["always", "auto"], coalesce(var.fetch, "auto"))
    error_message = "fetch must be \"always\" or \"auto\" (or null)."
  }
}

variable "on_error" {
  description = "TOKENSEAL_ON_ERROR (optional): \"deny\" denies the login when tokenseal fails; unset or \"continue\" lets it go on."
  type        = string
  default     = null

  validation {
    condition     = contains(["deny", "continue"], coalesce(var.on_error, "continue"))
    error_message = "on_error must be \"deny\" or \"continue\" (or null)."
  }
}

variable "recheck_hours" {
  description = "TOKENSEAL_RECHECK_HOURS (optional): after a read found no Google refresh token for a user, hours before the Action reads that user again when only \"nothing is stored\" asks for it (a first login or a consent login still reads); a whole number from 0 (read every time) to 8760 (a year); unset means 24."
  type        = string
  default     = null

  validation {
    condition     = can(regex("^[0-9]+$", coalesce(var.recheck_hours, "24"))) && try(tonumber(coalesce(var.recheck_hours, "24")) <= 8760, false)
    error_message = "recheck_hours must be a whole number of hours from 0 to 8760 (or null)."
  }
}

variable "action_name" {
  description = "Name of the Action in the tenant."
  type        = string
  default     = "tokenseal"
}

variable "runtime" {
  description = "Actions runtime: node22 (default) or node18."
  type        = string
  default     = "node22"

  validation {
    condition     = contains(["node22", "node18"], var.runtime)
    error_message = "runtime must be node22 or node18."
  }
}
