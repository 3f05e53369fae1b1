# Palisade's three VMs on Hetzner Cloud — the only provider-specific part. Everything about what runs
# where and which flows are allowed comes from vm-layout/layout.yaml through the two modules.

locals {
  layout_file = "${path.module}/../../../vm-layout/layout.yaml"
  layout      = yamldecode(file(local.layout_file))
}

module "firewall" {
  source      = "../../modules/firewall"
  layout_file = local.layout_file
}

module "vm" {
  source   = "../../modules/vm"
  for_each = local.layout.vms

  layout_file       = local.layout_file
  vm_name           = each.key
  palisade_repo_url = var.palisade_repo_url
  palisade_ref      = var.palisade_ref
  ollama_models     = var.ollama_models
  image_pins        = var.image_pins
}

resource "hcloud_network" "private" {
  name     = "${var.name_prefix}-private"
  ip_range = local.layout.private_network.cidr
}

resource "hcloud_network_subnet" "private" {
  network_id   = hcloud_network.private.id
  type         = "cloud"
  network_zone = var.network_zone
  ip_range     = local.layout.private_network.cidr
}

# Hetzner's cloud firewall filters the public interface only (not the private network): it is a second
# layer for traffic from the operator, admin, SOC networks and the internet. The nftables ruleset on
# each VM filters everything, private network included.
resource "hcloud_firewall" "vm" {
  for_each = local.layout.vms
  name     = "${var.name_prefix}-${each.key}"

  dynamic "rule" {
    for_each = module.firewall.rules[each.key]
    content {
      direction       = rule.value.direction
      protocol        = rule.value.protocol
      port            = rule.value.port
      source_ips      = rule.value.direction == "in" ? rule.value.source_ips : null
      destination_ips = rule.value.direction == "out" ? rule.value.destination_ips : null
      description     = rule.value.description
    }
  }

  # Hetzner allows all outbound traffic while a firewall has no outbound rule. A VM with egress: none
  # gets one inert outbound rule (ICMP to the private network, which its nftables drops anyway), which
  # turns Hetzner's outbound filtering into deny-by-default.
  dynamic "rule" {
    for_each = contains(module.firewall.egress_none, each.key) ? [local.layout.private_network.cidr] : []
    content {
      direction       = "out"
      protocol        = "icmp"
      destination_ips = [rule.value]
      description     = "egress-none"
    }
  }
}

resource "hcloud_server" "vm" {
  for_each     = local.layout.vms
  name         = "${var.name_prefix}-${each.key}"
  server_type  = var.server_types[each.key]
  image        = var.image
  location     = var.location
  ssh_keys     = var.ssh_key_ids
  user_data    = module.vm[each.key].user_data
  firewall_ids = [hcloud_firewall.vm[each.key].id]

  public_net {
    ipv4_enabled = true
    ipv6_enabled = false
  }

  network {
    network_id = hcloud_network.private.id
    ip         = module.vm[each.key].private_ip
  }

  depends_on = [hcloud_network_subnet.private]
}
