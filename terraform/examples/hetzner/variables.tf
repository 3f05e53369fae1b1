variable "hcloud_token" {
  description = "Hetzner Cloud API token (read/write). Pass it via TF_VAR_hcloud_token, never in a file you commit."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.hcloud_token) == 64
    error_message = "A Hetzner Cloud API token is 64 characters long."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "palisade"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.name_prefix))
    error_message = "name_prefix: lower-case letters, digits and dashes, starting with a letter, at most 31 characters."
  }
}

variable "location" {
  description = "Hetzner location."
  type        = string
  default     = "nbg1"

  validation {
    condition     = contains(["fsn1", "nbg1", "hel1", "ash", "hil", "sin"], var.location)
    error_message = "location must be one of fsn1, nbg1, hel1, ash, hil, sin."
  }
}

variable "network_zone" {
  description = "Network zone of the location (eu-central for fsn1/nbg1/hel1, us-east for ash, us-west for hil, ap-southeast for sin)."
  type        = string
  default     = "eu-central"

  validation {
    condition     = contains(["eu-central", "us-east", "us-west", "ap-southeast"], var.network_zone)
    error_message = "network_zone must be one of eu-central, us-east, us-west, ap-southeast."
  }
}

variable "image" {
  description = "Operating system image (Debian 12 is what Palisade is tested on)."
  type        = string
  default     = "debian-12"
}

variable "server_types" {
  description = "Server type per VM. Ollama needs memory for its model."
  type        = map(string)
  default = {
    nextcloud = "cx32"
    agent     = "cx32"
    ollama    = "cx52"
  }

  validation {
    condition     = alltrue([for vm in ["nextcloud", "agent", "ollama"] : contains(keys(var.server_types), vm)])
    error_message = "server_types must name a server type for nextcloud, agent and ollama."
  }
}

variable "ssh_key_ids" {
  description = "IDs or names of Hetzner SSH keys for the admin network's access."
  type        = list(string)

  validation {
    condition     = length(var.ssh_key_ids) > 0
    error_message = "Give at least one SSH key: the VMs have no password login."
  }
}

variable "palisade_repo_url" {
  description = "Git URL every VM clones Palisade from."
  type        = string
}

variable "palisade_ref" {
  description = "Branch or tag to deploy."
  type        = string
  default     = "main"
}

variable "image_pins" {
  description = "Digest pins for the third-party images (bash scripts/pin-images.sh on a machine that can pull); the nextcloud and ollama VMs refuse to start their profiles without them."
  type        = map(string)
  default     = {}
}

variable "ollama_models" {
  description = "Models the Ollama VM pulls before lock-down."
  type        = list(string)
  default     = []
}
