output "public_ipv4" {
  description = "Public IPv4 address of each VM (reachable only as the layout's flows allow)."
  value       = { for name, server in hcloud_server.vm : name => server.ipv4_address }
}

output "private_ip" {
  description = "Private address of each VM, from the layout."
  value       = { for name, vm in module.vm : name => vm.private_ip }
}

output "firewall_rules" {
  description = "The cloud firewall rules of each VM, as derived from the layout."
  value       = module.firewall.rules
}
