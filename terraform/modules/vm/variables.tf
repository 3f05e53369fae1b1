variable "layout_file" {
  description = "Path of vm-layout/layout.yaml."
  type        = string
}

variable "vm_name" {
  description = "Which VM of the layout: nextcloud, agent or ollama."
  type        = string

  validation {
    condition     = contains(["nextcloud", "agent", "ollama"], var.vm_name)
    error_message = "vm_name must be one of nextcloud, agent, ollama (the VMs of vm-layout/layout.yaml)."
  }
}

variable "nft_file" {
  description = "The VM's generated nftables ruleset; default: vm-layout/generated/<vm_name>.nft next to the layout."
  type        = string
  default     = null
}

variable "palisade_repo_url" {
  description = "Git URL the VM clones Palisade from (https or ssh)."
  type        = string

  validation {
    condition     = can(regex("^(https://|ssh://|git@)[^\\s]+$", var.palisade_repo_url))
    error_message = "palisade_repo_url must be an https://, ssh:// or git@ URL."
  }
}

variable "palisade_ref" {
  description = "Branch or tag to deploy."
  type        = string
  default     = "main"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]{1,100}$", var.palisade_ref))
    error_message = "palisade_ref must be a branch or tag name (letters, digits, . _ / -)."
  }
}

variable "image_pins" {
  description = "Third-party images pinned by digest, as scripts/pin-images.sh writes them, e.g. { PALISADE_OLLAMA_IMAGE = \"ollama/ollama:0.12.6@sha256:<64 hex>\" }; written to /opt/palisade/.env. Without them the nextcloud and ollama profiles refuse to start (the *-image-pins services of docker-compose.yml)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for name, ref in var.image_pins : contains(["PALISADE_NEXTCLOUD_IMAGE", "PALISADE_NEXTCLOUD_DB_IMAGE", "PALISADE_OLLAMA_IMAGE"], name) && can(regex("^[A-Za-z0-9._/:-]+@sha256:[0-9a-f]{64}$", ref)) && !can(regex(":latest@", ref))])
    error_message = "image_pins: keys PALISADE_NEXTCLOUD_IMAGE, PALISADE_NEXTCLOUD_DB_IMAGE, PALISADE_OLLAMA_IMAGE; values <name>:<tag>@sha256:<64 lowercase hex> (bash scripts/pin-images.sh), tag not latest."
  }
}

variable "ollama_models" {
  description = "Models the Ollama VM pulls before its firewall (no egress) is loaded, e.g. [\"llama3.2:3b\"]."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for model in var.ollama_models : can(regex("^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?$", model))])
    error_message = "Each model must be an Ollama model name such as llama3.2:3b."
  }
}
