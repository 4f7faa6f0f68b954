# tokenseal with the Auth0 Terraform provider: the M2M application the Action uses to read
# users (with their IdP tokens) through the Management API, the Action itself, and its
# binding to the Login flow.
#
#   bash scripts/build.sh                 # dist/action.js must exist: file() reads it at plan
#   export AUTH0_DOMAIN=... AUTH0_CLIENT_ID=... AUTH0_CLIENT_SECRET=...   # Terraform's own client
#   export TF_VAR_auth0_domain=example.us.auth0.com
#   export TF_VAR_tokenseal_keys='{"keys":[...]}'
#   terraform -chdir=deploy/terraform init && terraform -chdir=deploy/terraform apply
#
# Terraform's own client needs read:client_keys (or read:client_credentials) besides the
# usual create/update scopes, or the provider cannot read the new client's secret.
# Action secrets end up in the Terraform state in plain text: protect the state.

terraform {
  required_version = ">= 1.3.0"

  required_providers {
    auth0 = {
      source  = "auth0/auth0"
      version = ">= 1.0.0"
    }
  }
}

# Credentials from AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (or AUTH0_API_TOKEN).
provider "auth0" {}

locals {
  # Optional Action secrets, set only when the variable is.
  optional_secrets = {
    for name, value in {
      TOKENSEAL_CLAIM_NAMESPACE = var.claim_namespace
      TOKENSEAL_FETCH           = var.fetch
      TOKENSEAL_ON_ERROR        = var.on_error
      TOKENSEAL_RECHECK_HOURS   = var.recheck_hours
      TOKENSEAL_PROVIDERS       = var.capture_providers
    } : name => value if value != null
  }
}

# The machine-to-machine application the Action authenticates as. It gets nothing but
# read:users and read:user_idp_tokens on the Management API.
resource "auth0_client" "tokenseal_m2m" {
  name        = "${var.action_name} (Management API reader)"
  description = "Used only by the ${var.action_name} post-login Action to read the user's Google refresh token."
  app_type    = "non_interactive"
  grant_types = ["client_credentials"]
}

# The Action sends its client secret in the token request body.
resource "auth0_client_credentials" "tokenseal_m2m" {
  client_id             = auth0_client.tokenseal_m2m.id
  authentication_method = "client_secret_post"
}

resource "auth0_client_grant" "tokenseal_m2m" {
  client_id = auth0_client.tokenseal_m2m.id
  audience  = "https://${var.auth0_domain}/api/v2/"
  scopes    = ["read:users", "read:user_idp_tokens"]
}

resource "auth0_action" "tokenseal" {
  name    = var.action_name
  runtime = var.runtime
  deploy  = true
  code    = file("${path.module}/../../dist/action.js")

  supported_triggers {
    id      = "post-login"
    version = "v3"
  }

  secrets {
    name  = "TOKENSEAL_KEYS"
    value = var.tokenseal_keys
  }

  secrets {
    name  = "AUTH0_DOMAIN"
    value = var.auth0_domain
  }

  secrets {
    name  = "AUTH0_CLIENT_ID"
    value = auth0_client.tokenseal_m2m.client_id
  }

  secrets {
    name  = "AUTH0_CLIENT_SECRET"
    value = auth0_client_credentials.tokenseal_m2m.client_secret
  }

  dynamic "secrets" {
    for_each = local.optional_secrets
    content {
      name  = secrets.key
      value = secrets.value
    }
  }

  lifecycle {
    precondition {
      condition     = nonsensitive(auth0_client_credentials.tokenseal_m2m.client_secret != "")
      error_message = "The provider read an empty client secret: give Terraform's own client the read:client_keys scope."
    }
  }

  # Reads fail until the grant exists.
  depends_on = [auth0_client_grant.tokenseal_m2m]
}

# Appends tokenseal to the post-login flow and leaves the other bindings alone. To manage
# the whole flow and its order here instead, replace it with one auth0_trigger_actions
# resource listing every post-login Action (never use both for the same trigger).
resource "auth0_trigger_action" "tokenseal" {
  trigger   = "post-login"
  action_id = auth0_action.tokenseal.id
}

output "action_id" {
  value = auth0_action.tokenseal.id
}

output "m2m_client_id" {
  value = auth0_client.tokenseal_m2m.client_id
}
