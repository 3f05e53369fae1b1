output "rules" {
  description = "Per VM: the allowed flows as firewall rules {direction, protocol, port, source_ips, destination_ips, description}."
  value       = local.rules
}

output "egress_none" {
  description = "VMs that start no connection at all (layout egress: none)."
  value       = [for name, vm in local.layout.vms : name if vm.egress == "none"]
}

output "flows" {
  description = "Every flow of the layout, resolved to addresses."
  value       = local.flows
}
