# Firewall rules for each VM, derived from vm-layout/layout.yaml — nothing here is written by hand.
# Provider-neutral: the output is a list of rules per VM that a provider example maps onto its own
# firewall resource (see examples/hetzner). The VM's own nftables ruleset (written by cloud-init from
# vm-layout/generated/<vm>.nft) stays the enforcement of record; a cloud firewall is a second layer.

locals {
  layout = yamldecode(file(var.layout_file))

  # Addresses of a flow endpoint: a VM's private address, or a network's CIDRs.
  endpoint_cidrs = merge(
    { for name, vm in local.layout.vms : name => ["${vm.address}/32"] },
    { for name, net in local.layout.networks : name => net.cidrs },
  )

  # Named destination lists (flows to a network may be limited to one of them).
  destination_lists = {
    cloud_endpoints = flatten([for endpoint in local.layout.cloud_endpoints : endpoint.cidrs])
    sandbox_egress  = flatten([for destination in local.layout.sandbox_egress : destination.cidrs])
    dns_resolvers   = local.layout.dns_resolvers
    ntp_servers     = local.layout.ntp_servers
  }

  flows = [
    for flow in local.layout.flows : {
      id       = flow.id
      from     = flow.from
      to       = flow.to
      protocol = flow.protocol
      port     = tostring(flow.port)
      why      = flow.why
      sources  = [for cidr in local.endpoint_cidrs[flow.from] : length(split("/", cidr)) == 2 ? cidr : "${cidr}/32"]
      targets = [
        for cidr in(try(flow.destinations, null) != null ? local.destination_lists[flow.destinations] : local.endpoint_cidrs[flow.to]) :
        length(split("/", cidr)) == 2 ? cidr : "${cidr}/32"
      ]
    }
  ]

  rules = {
    for vm_name, vm in local.layout.vms : vm_name => concat(
      [
        for flow in local.flows : {
          direction       = "in"
          protocol        = flow.protocol
          port            = flow.port
          source_ips      = flow.sources
          destination_ips = []
          description     = flow.id
        } if flow.to == vm_name
      ],
      [
        for flow in local.flows : {
          direction       = "out"
          protocol        = flow.protocol
          port            = flow.port
          source_ips      = []
          destination_ips = flow.targets
          description     = flow.id
        } if flow.from == vm_name && vm.egress != "none" && length(flow.targets) > 0
      ],
    )
  }
}
