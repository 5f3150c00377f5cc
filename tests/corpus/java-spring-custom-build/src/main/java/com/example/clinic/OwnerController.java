package com.example.clinic;

import java.util.List;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;

@Controller
public class OwnerController {
    record Owner(String name, String pet) {}

    @GetMapping("/owners")
    public String owners(Model model) {
        model.addAttribute("owners", List.of(new Owner("Ada", "Biscuit"), new Owner("Linus", "Pixel")));
        return "owners";
    }
}
